// SPDX-License-Identifier: GPL-2.0-or-later
/* snapcowd's log (see log.h). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "log.h"

int log_level = LOG_INFO;

void logmsg(int prio, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (prio > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One write per line, so lines from one process never interleave. */
	fprintf(stderr, "<%d>snapcowd: %s\n", prio, line);
}
