/*
 * test_index_mt.c - readers hammer look-ups while a writer replaces the
 * snapshot: no reader may see a freed snapshot or a mix of two.  Meant to
 * be run under ThreadSanitizer and AddressSanitizer as well (see
 * bench/index/README.md).
 *
 * Snapshot g (g = 1, 2, ...) lists:
 *   stable.example and 10.0.0.0/8             in every snapshot
 *   marker.example with confidence g % 101 and tag "gen:<g>"
 *   d<g % 7>.example, and 192.0.2.<g % 7>      in this one only
 *   200 filler names, for some size
 * Each reader acquires, reads the generation from the marker, checks that
 * the snapshot answers exactly as generation g must (single and batched
 * look-ups), that generations never go backwards, and releases.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index/holder.h"
#include "index/index.h"
#include "tap.h"

#define READERS 3
#define PUBLISHES 200

struct shared {
	struct bw_index_holder *h;
	atomic_int done;
};

struct reader_result {
	struct shared *sh;
	long rounds, lookups, errors, null_seen;
	atomic_ulong max_gen; /* read by the main thread while running */
};

static struct bw_index *
make_snapshot(unsigned long g)
{
	struct bw_index_builder *b = NULL;
	struct bw_index *ix = NULL;
	char v[64], tag[32];
	struct bw_tag t = {"tag", tag};
	struct bw_index_entry e = {BW_IOC_DOMAIN, v, 0, 0, -1, NULL, 0};

	if (bw_index_builder_new((int64_t)g, &b, NULL))
		return NULL;
#define ADD(type_, conf_, tags_, ntags_, ...)                                  \
	do {                                                                   \
		snprintf(v, sizeof(v), __VA_ARGS__);                           \
		e.type = (type_);                                              \
		e.len = strlen(v);                                             \
		e.confidence = (conf_);                                        \
		e.tags = (tags_);                                              \
		e.ntags = (ntags_);                                            \
		if (bw_index_builder_add(b, &e, NULL))                         \
			goto fail;                                             \
	} while (0)
	snprintf(tag, sizeof(tag), "gen-%lu", g);
	ADD(BW_IOC_DOMAIN, -1, NULL, 0, "stable.example");
	ADD(BW_IOC_CIDR, -1, NULL, 0, "10.0.0.0/8");
	ADD(BW_IOC_DOMAIN, (int)(g % 101), &t, 1, "marker.example");
	ADD(BW_IOC_DOMAIN, -1, NULL, 0, "d%lu.example", g % 7);
	ADD(BW_IOC_IPV4, -1, NULL, 0, "192.0.2.%lu", g % 7);
	for (int i = 0; i < 200; i++)
		ADD(BW_IOC_DOMAIN, -1, NULL, 0, "filler%d-%lu.example", i, g);
#undef ADD
	bw_index_builder_finish(b, &ix, NULL);
fail:
	bw_index_builder_free(b);
	return ix;
}

/* Checks that s answers as some generation g; returns g or 0. */
static unsigned long
check_snapshot(const struct bw_index *s, struct reader_result *r)
{
	struct bw_index_match m[8];
	struct bw_index_name q[9];
	uint32_t hits[64];
	unsigned long g;
	char names[9][32];
	size_t n;

	n = bw_index_lookup_domain(s, "www.marker.example", 18, m, 8);
	r->lookups++;
	if (n != 1 || m[0].ntags != 1 || strncmp(m[0].tags[0].name, "gen-", 4) != 0) {
		r->errors++;
		return 0;
	}
	g = strtoul(m[0].tags[0].name + 4, NULL, 10);
	if ((unsigned long)m[0].confidence != g % 101)
		r->errors++;
	/* single look-ups */
	if (bw_index_lookup_domain(s, "a.STABLE.example.", 17, m, 8) != 1)
		r->errors++;
	if (bw_index_lookup_ip(s, "10.9.8.7", 8, m, 8) != 1)
		r->errors++;
	for (unsigned long k = 0; k < 7; k++) {
		char ipt[32];
		snprintf(ipt, sizeof(ipt), "192.0.2.%lu", k);
		if (bw_index_lookup_ip(s, ipt, strlen(ipt), m, 8) != (k == g % 7))
			r->errors++;
	}
	r->lookups += 9;
	/* batched: d0..d6 and two fillers of this generation */
	for (int k = 0; k < 9; k++) {
		if (k < 7)
			snprintf(names[k], sizeof(names[k]), "x.d%d.example", k);
		else
			snprintf(names[k], sizeof(names[k]), "filler%d-%lu.example",
				 k * 20, g);
		q[k].name = names[k];
		q[k].len = strlen(names[k]);
	}
	if (bw_index_lookup_domains(s, q, 9, hits, 64) != 9)
		r->errors++;
	for (int k = 0; k < 9; k++) {
		uint32_t want = k < 7 ? (unsigned long)k == g % 7 : 1;
		if (q[k].n != want)
			r->errors++;
	}
	r->lookups += 9;
	return g;
}

static void *
reader_main(void *arg)
{
	struct reader_result *r = arg;
	struct bw_index_reader *rd = NULL;
	unsigned long last = 0;

	if (bw_index_reader_new(r->sh->h, &rd, NULL)) {
		r->errors++;
		return NULL;
	}
	while (!atomic_load(&r->sh->done)) {
		const struct bw_index *s = bw_index_acquire(rd);
		if (s == NULL) {
			r->null_seen++;
		} else {
			unsigned long g = check_snapshot(s, r);
			if (g < last)
				r->errors++; /* a generation went backwards */
			last = g;
			if (g > atomic_load(&r->max_gen))
				atomic_store(&r->max_gen, g);
		}
		bw_index_release(rd);
		r->rounds++;
	}
	bw_index_reader_free(rd);
	return NULL;
}

int
main(void)
{
	struct shared sh;
	struct reader_result res[READERS];
	pthread_t th[READERS];
	struct bw_err err = {0, ""};
	long rounds = 0, errors = 0, lookups = 0, pub_fail = 0, seen_last = 0;

	tap_state.test = "readers_and_writer";
	memset(res, 0, sizeof(res));
	atomic_init(&sh.done, 0);
	if (!CHECK(bw_index_holder_new(READERS + 1, &sh.h, &err) == BW_OK))
		return tap_done();
	for (unsigned long g = 1; g <= PUBLISHES; g++) {
		struct bw_index *ix = make_snapshot(g);
		if (ix == NULL || bw_index_holder_publish(sh.h, ix, &err) != BW_OK) {
			bw_index_free(ix);
			pub_fail++;
		}
		if (g == 1)
			for (int i = 0; i < READERS; i++) {
				res[i].sh = &sh;
				pthread_create(&th[i], NULL, reader_main, &res[i]);
			}
		/* wait (a little) until some reader has seen this one, so that
		 * every snapshot is read while the next replaces it */
		for (int spin = 0; spin < 100000; spin++) {
			int seen = 0;
			for (int i = 0; i < READERS; i++)
				seen |= atomic_load(&res[i].max_gen) >= g;
			if (seen)
				break;
			sched_yield();
		}
	}
	/* let the readers see the last one for a while */
	for (int spin = 0; spin < 100; spin++) {
		int all = 1;
		for (int i = 0; i < READERS; i++)
			all &= atomic_load(&res[i].max_gen) == PUBLISHES;
		if (all)
			break;
		bw_index_holder_reclaim(sh.h);
		sched_yield();
	}
	atomic_store(&sh.done, 1);
	for (int i = 0; i < READERS; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < READERS; i++) {
		rounds += res[i].rounds;
		errors += res[i].errors + res[i].null_seen;
		lookups += res[i].lookups;
		seen_last += atomic_load(&res[i].max_gen) == PUBLISHES;
	}
	CHECK_INT(pub_fail, 0);
	CHECK_INT(errors, 0);
	CHECK(rounds >= PUBLISHES);
	CHECK(seen_last > 0);
	CHECK_INT(bw_index_holder_generation(sh.h), PUBLISHES);
	/* with every reader gone, nothing stays retired */
	CHECK_INT(bw_index_holder_reclaim(sh.h), 0);
	printf("# %ld reader rounds, %ld look-ups, %d publishes\n", rounds, lookups,
	       PUBLISHES);
	bw_index_holder_free(sh.h);
	return tap_done();
}
