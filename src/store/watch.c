/*
 * watch.c - inotify on a store's directory (see watch.h).
 */
#include "store/watch.h"

#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "core/mem.h"

struct bw_store_watch {
	int fd;
	char base[NAME_MAX + 1]; /* the database's file name */
};

void
bw_store_watch_open(const char *db_path, struct bw_store_watch **out)
{
	char dir[PATH_MAX], real[PATH_MAX];
	const char *path = realpath(db_path, real) ? real : db_path;
	const char *slash = strrchr(path, '/');
	struct bw_store_watch *w;

	*out = NULL;
	if (slash == NULL) {
		snprintf(dir, sizeof(dir), ".");
		slash = path - 1;
	} else if ((size_t)(slash - path) >= sizeof(dir)) {
		return;
	} else {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
		if (dir[0] == '\0')
			snprintf(dir, sizeof(dir), "/");
	}
	w = bw_calloc(1, sizeof(*w));
	if (w == NULL)
		return;
	if (snprintf(w->base, sizeof(w->base), "%s", slash + 1) >= (int)sizeof(w->base))
		goto fail;
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0)
		goto fail;
	if (inotify_add_watch(w->fd, dir, IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
		close(w->fd);
		goto fail;
	}
	*out = w;
	return;
fail:
	bw_free(w);
}

int
bw_store_watch_fd(const struct bw_store_watch *w)
{
	return w ? w->fd : -1;
}

int
bw_store_watch_read(struct bw_store_watch *w)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	size_t bl;
	ssize_t n;
	int hit = 0;

	if (w == NULL)
		return 0;
	bl = strlen(w->base);
	while ((n = read(w->fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p + sizeof(struct inotify_event) <= buf + n;) {
			const struct inotify_event *e = (const struct inotify_event *)p;
			if (e->len && strncmp(e->name, w->base, bl) == 0 &&
			    (e->name[bl] == '\0' || strcmp(e->name + bl, "-wal") == 0 ||
			     strcmp(e->name + bl, "-journal") == 0))
				hit = 1;
			if (e->mask & IN_Q_OVERFLOW)
				hit = 1;
			p += sizeof(*e) + e->len;
		}
	}
	return hit;
}

void
bw_store_watch_close(struct bw_store_watch *w)
{
	if (w == NULL)
		return;
	close(w->fd);
	bw_free(w);
}

int
bw_store_watch_wait(struct bw_store_watch *w, int stop_fd, int fast_ms, int slow_ms,
		    int *recent)
{
	struct pollfd pf[2] = {{.fd = stop_fd, .events = POLLIN},
			       {.fd = bw_store_watch_fd(w), .events = POLLIN}};
	int idle = w != NULL && *recent == 0;

	if (poll(pf, idle ? 2 : 1, idle ? slow_ms : fast_ms) > 0 && pf[0].revents)
		return 1;
	if (*recent > 0)
		(*recent)--;
	if (bw_store_watch_read(w))
		*recent = BW_STORE_WATCH_POLLS;
	return 0;
}
