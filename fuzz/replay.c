/*
 * replay.c - runs a fuzz harness over the files named on the command line.
 *
 * Linked with each harness in the normal (gcc) build, so the test suite
 * replays every committed corpus file under the sanitizers without needing
 * clang's libFuzzer.  Prints TAP.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int n;

static void
replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long len;

	if (f == NULL) {
		printf("not ok %d - cannot open %s\n", ++n, path);
		return;
	}
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(len > 0 ? (size_t)len : 1);
	if (buf == NULL || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		printf("not ok %d - cannot read %s\n", ++n, path);
		fclose(f);
		free(buf);
		return;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	free(buf);
	printf("ok %d - %s\n", ++n, path);
}

int
main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		struct stat sb;
		DIR *d;
		struct dirent *e;

		if (stat(argv[i], &sb) != 0 || !S_ISDIR(sb.st_mode)) {
			replay_file(argv[i]);
			continue;
		}
		d = opendir(argv[i]);
		if (d == NULL) {
			printf("not ok %d - cannot open %s\n", ++n, argv[i]);
			continue;
		}
		while ((e = readdir(d)) != NULL) {
			char path[4096];
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
			replay_file(path);
		}
		closedir(d);
	}
	printf("1..%d\n", n);
	return 0;
}
