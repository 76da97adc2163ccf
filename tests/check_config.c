#include "config.h"
#include "check_hellod.h"
#include "hellod.h"
Suite *
config_suite(void)
{
	return suite_create("config");
}
