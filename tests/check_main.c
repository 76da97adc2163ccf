/* SPDX-License-Identifier: ISC */
/* The Check runner: one suite per module of the library. */
#include "config.h"

#include <stdlib.h>

#include "check_hellod.h"

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(addr_suite());
	srunner_add_suite(sr, config_suite());
	srunner_add_suite(sr, conn_suite());
	srunner_add_suite(sr, frame_suite());
	srunner_add_suite(sr, metrics_suite());
	srunner_add_suite(sr, listener_suite());
	srunner_add_suite(sr, log_suite());
	srunner_add_suite(sr, proxy_suite());
	srunner_add_suite(sr, readsize_suite());
	srunner_add_suite(sr, source_suite());
	srunner_add_suite(sr, systemd_suite());
	srunner_add_suite(sr, daemon_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
