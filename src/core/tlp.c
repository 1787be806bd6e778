/*
 * tlp.c - names and STIX identifiers of TLP levels.
 *
 * The TLP 2.0 ids are those published with the STIX 2.1 TLP 2.0 extension
 * (extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d); the TLP 1.0
 * ids are the ones fixed by the STIX 2.1 specification, section 7.2.1.4.
 */
#include "core/tlp.h"

#include <string.h>
#include <strings.h>

static const char *const names[BW_TLP_NLEVELS] = {
	"CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED",
};

static const char *const stix2_ids[BW_TLP_NLEVELS] = {
	"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
	"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
	"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
	"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
	"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
};

static const struct {
	const char *id;
	enum bw_tlp tlp;
} stix1_ids[] = {
	{"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", BW_TLP_CLEAR},
	{"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", BW_TLP_GREEN},
	{"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", BW_TLP_AMBER},
	{"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", BW_TLP_RED},
};

const char *
bw_tlp_name(enum bw_tlp tlp)
{
	if (tlp < 0 || tlp >= BW_TLP_NLEVELS)
		return NULL;
	return names[tlp];
}

enum bw_tlp
bw_tlp_parse(const char *s, size_t len)
{
	char buf[32];
	size_t n = 0;

	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len >= 4 && strncasecmp(s, "tlp:", 4) == 0) {
		s += 4;
		len -= 4;
	} else if (len >= 4 && strncasecmp(s, "tlp-", 4) == 0) {
		s += 4;
		len -= 4;
	}
	if (len >= sizeof(buf))
		return BW_TLP_UNSET;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '"')
			continue;
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c == '-' || c == ' ' || c == '_')
			c = '+';
		buf[n++] = c;
	}
	buf[n] = '\0';
	if (strcmp(buf, "WHITE") == 0)
		return BW_TLP_CLEAR;
	for (int i = 0; i < BW_TLP_NLEVELS; i++)
		if (strcmp(buf, names[i]) == 0)
			return (enum bw_tlp)i;
	return BW_TLP_UNSET;
}

const char *
bw_tlp_stix_id(enum bw_tlp tlp)
{
	if (tlp < 0 || tlp >= BW_TLP_NLEVELS)
		return NULL;
	return stix2_ids[tlp];
}

enum bw_tlp
bw_tlp_from_stix_id(const char *id)
{
	for (int i = 0; i < BW_TLP_NLEVELS; i++)
		if (strcmp(id, stix2_ids[i]) == 0)
			return (enum bw_tlp)i;
	for (size_t i = 0; i < sizeof(stix1_ids) / sizeof(stix1_ids[0]); i++)
		if (strcmp(id, stix1_ids[i].id) == 0)
			return stix1_ids[i].tlp;
	return BW_TLP_UNSET;
}
