/* SPDX-License-Identifier: ISC */
#ifndef CHECK_HELLOD_H
#define CHECK_HELLOD_H

#include <sys/types.h>

#include <check.h>

struct listen_addr;

struct config;

/* check_util.c: helpers the suites share */
struct config	*check_conf(const char *);
const char	*check_host(const struct listen_addr *, char *, size_t);
int		 check_notify_open(void);
void		 check_notify_close(int);
ssize_t		 check_notify_recv(int, char *, size_t, int *);

Suite	*addr_suite(void);
Suite	*config_suite(void);
Suite	*conn_suite(void);
Suite	*daemon_suite(void);
Suite	*frame_suite(void);
Suite	*listener_suite(void);
Suite	*log_suite(void);
Suite	*proxy_suite(void);
Suite	*readsize_suite(void);
Suite	*source_suite(void);
Suite	*metrics_suite(void);
Suite	*systemd_suite(void);

#endif
