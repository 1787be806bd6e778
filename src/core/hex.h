/*
 * hex.h - the value of a hexadecimal digit, for the parsers that decode
 * %XX escapes, \xNN separators and hex-encoded hashes.  Header-only: one
 * comparison chain, inlined where it is used.
 */
#ifndef BW_CORE_HEX_H
#define BW_CORE_HEX_H

/* The value of hex digit c (either case), or -1 if c is not one. */
static inline int
bw_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif
