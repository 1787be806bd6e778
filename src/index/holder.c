/*
 * holder.c - epoch-based replacement of index snapshots (see holder.h for
 * the scheme and why it is safe).
 *
 * The retired list is a singly linked list of nodes allocated by publish
 * before anything changes, so that a publish either fails cleanly or
 * completes.  It is only touched under the writer mutex.
 */
#include "index/holder.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/mem.h"

struct bw_index_reader {
	_Atomic uint64_t epoch;  /* 0: not inside acquire/release */
	atomic_int used;         /* the slot is registered */
	struct bw_index_holder *h;
} __attribute__((aligned(64)));

struct retired {
	struct bw_index *ix;
	uint64_t epoch;
	struct retired *next;
};

struct bw_index_holder {
	_Atomic(struct bw_index *) current;
	_Atomic uint64_t epoch;
	char pad[64];                 /* keep readers' slots off this line */
	struct bw_index_reader *slots;
	void *slots_raw;
	unsigned nslots;
	pthread_mutex_t lock;         /* writers only */
	struct retired *retired;
	unsigned long generation;
};

int
bw_index_holder_new(unsigned max_readers, struct bw_index_holder **out,
		    struct bw_err *err)
{
	struct bw_index_holder *h;

	*out = NULL;
	if (max_readers < 1 || max_readers > BW_INDEX_READERS_MAX)
		return bw_err_set(err, BW_EINVAL, "readers must be 1 to %d",
				  BW_INDEX_READERS_MAX);
	h = bw_calloc(1, sizeof(*h));
	if (h == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	h->slots_raw = bw_calloc(1, (size_t)max_readers * sizeof(*h->slots) + 63);
	if (h->slots_raw == NULL) {
		bw_free(h);
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	}
	if (pthread_mutex_init(&h->lock, NULL) != 0) {
		bw_free(h->slots_raw);
		bw_free(h);
		return bw_err_set(err, BW_ENOMEM, "cannot create a mutex");
	}
	h->slots = (struct bw_index_reader *)(((uintptr_t)h->slots_raw + 63) &
					      ~(uintptr_t)63);
	h->nslots = max_readers;
	for (unsigned i = 0; i < max_readers; i++) {
		atomic_init(&h->slots[i].epoch, 0);
		atomic_init(&h->slots[i].used, 0);
		h->slots[i].h = h;
	}
	atomic_init(&h->current, NULL);
	atomic_init(&h->epoch, 1);
	*out = h;
	return BW_OK;
}

/* Frees the retired snapshots no reader can hold; the lock is held. */
static size_t
reclaim_locked(struct bw_index_holder *h)
{
	uint64_t min = UINT64_MAX;
	struct retired **pp = &h->retired;
	size_t left = 0;

	for (unsigned i = 0; i < h->nslots; i++) {
		uint64_t e = atomic_load(&h->slots[i].epoch);
		if (e != 0 && e < min)
			min = e;
	}
	while (*pp) {
		struct retired *r = *pp;
		if (r->epoch <= min) {
			*pp = r->next;
			bw_index_free(r->ix);
			bw_free(r);
		} else {
			pp = &r->next;
			left++;
		}
	}
	return left;
}

void
bw_index_holder_free(struct bw_index_holder *h)
{
	if (h == NULL)
		return;
	while (h->retired) {
		struct retired *r = h->retired;
		h->retired = r->next;
		bw_index_free(r->ix);
		bw_free(r);
	}
	bw_index_free(atomic_load(&h->current));
	pthread_mutex_destroy(&h->lock);
	bw_free(h->slots_raw);
	bw_free(h);
}

int
bw_index_holder_publish(struct bw_index_holder *h, struct bw_index *ix,
			struct bw_err *err)
{
	struct retired *node = bw_malloc(sizeof(*node));
	struct bw_index *old;

	if (node == NULL)
		return bw_err_set(err, BW_ENOMEM, "out of memory");
	pthread_mutex_lock(&h->lock);
	old = atomic_exchange(&h->current, ix);
	node->epoch = atomic_fetch_add(&h->epoch, 1) + 1;
	h->generation++;
	if (old != NULL) {
		node->ix = old;
		node->next = h->retired;
		h->retired = node;
		node = NULL;
	}
	reclaim_locked(h);
	pthread_mutex_unlock(&h->lock);
	bw_free(node);
	return BW_OK;
}

size_t
bw_index_holder_reclaim(struct bw_index_holder *h)
{
	size_t left;

	pthread_mutex_lock(&h->lock);
	left = reclaim_locked(h);
	pthread_mutex_unlock(&h->lock);
	return left;
}

unsigned long
bw_index_holder_generation(struct bw_index_holder *h)
{
	unsigned long g;

	pthread_mutex_lock(&h->lock);
	g = h->generation;
	pthread_mutex_unlock(&h->lock);
	return g;
}

int
bw_index_reader_new(struct bw_index_holder *h, struct bw_index_reader **out,
		    struct bw_err *err)
{
	*out = NULL;
	for (unsigned i = 0; i < h->nslots; i++) {
		int expect = 0;
		if (atomic_compare_exchange_strong(&h->slots[i].used, &expect, 1)) {
			*out = &h->slots[i];
			return BW_OK;
		}
	}
	return bw_err_set(err, BW_ELIMIT, "all %u index reader slots are taken",
			  h->nslots);
}

void
bw_index_reader_free(struct bw_index_reader *r)
{
	if (r == NULL)
		return;
	atomic_store(&r->epoch, 0);
	atomic_store(&r->used, 0);
}

const struct bw_index *
bw_index_acquire(struct bw_index_reader *r)
{
	uint64_t e = atomic_load(&r->h->epoch);

	atomic_store(&r->epoch, e);
	return atomic_load(&r->h->current);
}

void
bw_index_release(struct bw_index_reader *r)
{
	atomic_store_explicit(&r->epoch, 0, memory_order_release);
}
