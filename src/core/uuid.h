/*
 * uuid.h - name-based (version 5) UUIDs.
 *
 * Exports give every object an id derived from what it is (source, type,
 * value), so exporting the same store twice yields the same STIX and MISP
 * ids and a consumer sees updates rather than new objects.
 */
#ifndef BW_CORE_UUID_H
#define BW_CORE_UUID_H

#include <stddef.h>

#define BW_UUID_TEXT_LEN 36

/* The namespace of bulwark's own ids (a fixed random UUID). */
extern const unsigned char bw_uuid_ns_bulwark[16];

/* RFC 4122 version 5 UUID of name (len bytes) in namespace ns, as
 * lower-case text into out (BW_UUID_TEXT_LEN + 1 bytes).  Returns out. */
char *bw_uuid5(const unsigned char ns[16], const void *name, size_t len,
	       char *out);

/* Like bw_uuid5 with the parts joined by a 0x1f separator. */
char *bw_uuid5_parts(const unsigned char ns[16], const char *const *parts,
		     size_t nparts, char *out);

/* 1 if s is a UUID in 8-4-4-4-12 hex form. */
int bw_uuid_valid(const char *s);

#endif
