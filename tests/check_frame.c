#include "config.h"
#include "check_hellod.h"
#include "hellod.h"
Suite *
frame_suite(void)
{
	return suite_create("frame");
}
