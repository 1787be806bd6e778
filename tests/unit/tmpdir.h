/*
 * tmpdir.h - the scratch directory of a unit test program: main() makes it
 * once with tmp_dir_make("NAME") (/tmp/bw-test-NAME-XXXXXX), the tests name
 * their stores and files in it with tmp_path(), and main() removes it with
 * everything in it through tmp_dir_remove() before tap_done().
 * Header-only, file-local: each test is one program.
 */
#ifndef BW_TESTS_TMPDIR_H
#define BW_TESTS_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>

static char tmp_dir[64];

/* 0, or -1 after printing "Bail out!" (the test cannot run). */
static int
tmp_dir_make(const char *name) __attribute__((unused));
static int
tmp_dir_make(const char *name)
{
	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/bw-test-%s-XXXXXX", name);
	if (mkdtemp(tmp_dir) == NULL) {
		printf("Bail out! cannot make %s\n", tmp_dir);
		return -1;
	}
	return 0;
}

/* "DIR/name", valid until the next call. */
static const char *
tmp_path(const char *name) __attribute__((unused));
static const char *
tmp_path(const char *name)
{
	static char buf[256];

	snprintf(buf, sizeof(buf), "%s/%s", tmp_dir, name);
	return buf;
}

static void
tmp_dir_remove(void) __attribute__((unused));
static void
tmp_dir_remove(void)
{
	char cmd[sizeof(tmp_dir) + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", tmp_dir);
}

#endif
