/*
 * watch.h - notice writes to a store by other connections and processes
 * without reading it many times a second: inotify on the store's
 * directory, filtered to the database and its -wal and -journal files.
 *
 * Why: the daemon's threads (the API's refresh, the DNS zone watcher, the
 * outbox) each learn of commits from SQLite's PRAGMA data_version, which
 * must be read to be seen.  Read every few milliseconds, an idle daemon
 * wakes dozens of times a second, on the same cores as its listeners;
 * with a watch it sleeps until a write and polls only as a fall-back.
 *
 * A write event comes before the commit is visible: SQLite writes the WAL,
 * then updates the WAL index in shared memory (which inotify does not
 * see), and a large transaction writes the WAL in many pieces.  So after
 * an event a user reads data_version again for a short while (each user
 * says how long); an event is a hint, never the commit itself.  inotify
 * misses writes on some file systems (NFS) and its queue can overflow
 * (read as an event): users keep a slow poll besides.
 *
 * Not thread-safe per object; one per thread.
 */
#ifndef BW_STORE_WATCH_H
#define BW_STORE_WATCH_H

struct bw_store_watch;

/* Starts watching the store at db_path (through a symbolic link, the
 * directory of the file itself, where SQLite puts the -wal).  *out is
 * NULL when inotify cannot watch it: then only polling finds commits.
 * Allocation failure is the same as no watch. */
void bw_store_watch_open(const char *db_path, struct bw_store_watch **out);

/* The descriptor to poll for input (non-blocking), or -1 for NULL. */
int bw_store_watch_fd(const struct bw_store_watch *w);

/* Reads every pending event; 1 if one names the store's files (or the
 * queue overflowed), else 0.  NULL: 0. */
int bw_store_watch_read(struct bw_store_watch *w);

/* NULL is a no-op. */
void bw_store_watch_close(struct bw_store_watch *w);

/* Reads of data_version after a write event, one per fast interval. */
#define BW_STORE_WATCH_POLLS 4

/* The wait of a thread that reads data_version: until stop_fd is readable
 * (returns 1), or until it is time to read data_version (returns 0): at
 * once when the store is written and w is idle, then every fast_ms for
 * BW_STORE_WATCH_POLLS intervals (*recent counts them down; 0 to start
 * with), else after slow_ms.  A stream of writes is thus read once every
 * fast_ms, not once per write.  Without a watch (w NULL): every fast_ms. */
int bw_store_watch_wait(struct bw_store_watch *w, int stop_fd, int fast_ms,
			int slow_ms, int *recent);

#endif
