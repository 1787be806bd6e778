/*
 * tlp.h - Traffic Light Protocol 2.0 levels.
 *
 * The levels are distinct markings, not a scale: code that decides who may
 * see a record compares exact levels (AMBER+STRICT is not "AMBER or more").
 * The numeric order exists only for sorting and storage.
 */
#ifndef BW_CORE_TLP_H
#define BW_CORE_TLP_H

#include <stddef.h>

enum bw_tlp {
	BW_TLP_UNSET = -1,
	BW_TLP_CLEAR = 0,
	BW_TLP_GREEN = 1,
	BW_TLP_AMBER = 2,
	BW_TLP_AMBER_STRICT = 3,
	BW_TLP_RED = 4,
};
#define BW_TLP_NLEVELS 5

/* "CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"; NULL if out of range. */
const char *bw_tlp_name(enum bw_tlp tlp);

/* Reads a level as people and feeds write it: case-insensitive, with or
 * without a "TLP:" prefix, TLP 1.0's WHITE as CLEAR, "amber-strict" and
 * "amber strict" as AMBER+STRICT.  Returns BW_TLP_UNSET if unknown. */
enum bw_tlp bw_tlp_parse(const char *s, size_t len);

/* The fixed STIX 2.1 marking-definition id of a TLP 2.0 level. */
const char *bw_tlp_stix_id(enum bw_tlp tlp);

/* The level of a STIX marking-definition id: the TLP 2.0 ids, and the TLP 1.0
 * ids of the STIX 2.1 specification (white maps to CLEAR).  BW_TLP_UNSET for
 * any other id. */
enum bw_tlp bw_tlp_from_stix_id(const char *id);

#endif
