#include "config.h"
#include "check_hellod.h"
#include "hellod.h"
Suite *
addr_suite(void)
{
	return suite_create("addr");
}
