/* SPDX-License-Identifier: ISC */
/* Helpers shared by the Check suites. */
#include "config.h"

#include <arpa/inet.h>

#include "check_hellod.h"
#include "hellod.h"

/* A listening address as text, without its port, for comparisons. */
const char *
check_host(const struct listen_addr *la, char *buf, size_t len)
{
	const void	*src;

	if (la->ss.ss_family == AF_INET)
		src = &((const struct sockaddr_in *)&la->ss)->sin_addr;
	else
		src = &((const struct sockaddr_in6 *)&la->ss)->sin6_addr;
	ck_assert_ptr_nonnull(inet_ntop(la->ss.ss_family, src, buf, len));
	return buf;
}
