/*
 * test_dynlib.c - optional libraries opened on first use (core/dynlib.h):
 * a table filled from a real library and called through, and the three
 * ways it can fail, each with a message that names what is missing.
 */
#include <math.h>
#include <string.h>

#include "core/dynlib.h"
#include "tap.h"

/* libm: in every system, with functions of known values */
#define M_FUNCTIONS(F) F(cos) F(sqrt)

static struct {
	M_FUNCTIONS(BW_DYNLIB_MEMBER)
} m;
static const char *const m_names[] = {M_FUNCTIONS(BW_DYNLIB_NAME)};

static void
test_opened_and_called(void)
{
	struct bw_dynlib lib = BW_DYNLIB_INIT("a test", "libbulwark-none.so.9 libm.so.6", m_names, m);
	struct bw_err err = {0, ""};

	/* the first name does not load: the next one is tried */
	CHECK_INT(bw_dynlib_ready(&lib, &err), BW_OK);
	CHECK(m.cos != NULL && m.sqrt != NULL);
	if (m.cos != NULL && m.sqrt != NULL) {
		CHECK(m.cos(0.0) == 1.0);
		CHECK(m.sqrt(81.0) == 9.0);
	}
	/* a second call answers the same, without opening it again */
	CHECK_INT(bw_dynlib_ready(&lib, NULL), BW_OK);
}

static void
test_missing_library(void)
{
	struct {
		M_FUNCTIONS(BW_DYNLIB_MEMBER)
	} t = {NULL, NULL};
	struct bw_dynlib lib = BW_DYNLIB_INIT("the frobnicator", "libbulwark-none.so.9 libbulwark-none.so",
					      m_names, t);
	struct bw_err err = {0, ""};

	CHECK_INT(bw_dynlib_ready(&lib, &err), BW_ENOTFOUND);
	/* the soname is the one named, with the loader's reason */
	CHECK(strstr(err.msg, "the frobnicator: cannot load libbulwark-none.so.9: ") == err.msg);
	CHECK(strstr(err.msg, "No such file") != NULL);
	CHECK(t.cos == NULL);
	/* and it stays refused, with the same message */
	err.msg[0] = '\0';
	CHECK_INT(bw_dynlib_ready(&lib, &err), BW_ENOTFOUND);
	CHECK(strstr(err.msg, "cannot load libbulwark-none.so.9") != NULL);
}

static void
test_missing_function(void)
{
	static const char *const names[] = {"cos", "bulwark_no_such_function"};
	void *t[2] = {NULL, NULL};
	struct bw_dynlib lib = BW_DYNLIB_INIT("a test", "libm.so.6", names, t);
	struct bw_err err = {0, ""};

	CHECK_INT(bw_dynlib_ready(&lib, &err), BW_ENOTFOUND);
	CHECK_STR(err.msg, "a test: libm.so.6 has no function bulwark_no_such_function");
}

static void
test_table_of_another_size(void)
{
	static const char *const names[] = {"cos", "sqrt", "floor"};
	void *t[2] = {NULL, NULL};
	struct bw_dynlib lib = BW_DYNLIB_INIT("a test", "libm.so.6", names, t);
	struct bw_err err = {0, ""};

	CHECK_INT(bw_dynlib_ready(&lib, &err), BW_EINVAL);
	CHECK(strstr(err.msg, "for 3 functions") != NULL);
	CHECK(t[0] == NULL && t[1] == NULL);
}

int
main(void)
{
	TAP_RUN(test_opened_and_called);
	TAP_RUN(test_missing_library);
	TAP_RUN(test_missing_function);
	TAP_RUN(test_table_of_another_size);
	return tap_done();
}
