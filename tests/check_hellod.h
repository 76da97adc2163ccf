#ifndef CHECK_HELLOD_H
#define CHECK_HELLOD_H

#include <check.h>

Suite	*addr_suite(void);
Suite	*config_suite(void);
Suite	*frame_suite(void);
Suite	*systemd_suite(void);

#endif
