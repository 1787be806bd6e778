/*
 * enforce.h - the active disruption actions written out for the systems
 * that enforce them: an RPZ zone file, an nftables set file and an ipset
 * restore file (`bulwark export --format rpz|nft|ipset`).
 *
 * rpz    the zone rpz.bulwark. as a master file: SOA (serial 1 + the last
 *        rpz_change serial, the serial bulwark's DNS server gives the same
 *        zone) and NS at the apex; per active action the records the RPZ
 *        format gives (src/net/rpz.h): QNAME triggers for D and *.D with
 *        CNAME . (NXDOMAIN) or A/AAAA local data (sinkhole), rpz-ip triggers
 *        for addresses and prefixes; and CNAME rpz-passthru. for the
 *        operator's guard entries (exceptions), unless an active action
 *        names the same trigger.
 * nft    table inet bulwark with interval sets blocked4 and blocked6
 *        (auto-merge), flushed and refilled: `nft -f FILE` replaces the
 *        contents in one transaction; rules that use the sets are the
 *        operator's.
 * ipset  `ipset restore` input: hash:net sets bulwark-block4 and
 *        bulwark-block6, created if missing (-exist), flushed and refilled.
 *
 * Domain actions appear only in the zone; address and prefix actions in
 * all three.  The order is by type and target, so the same store gives the
 * same file.  The clock runs first (bw_action_tick), so what has expired
 * is never written.
 */
#ifndef BW_DISRUPT_ENFORCE_H
#define BW_DISRUPT_ENFORCE_H

#include <stdint.h>
#include <stdio.h>

#include "core/err.h"
#include "store/store.h"

enum bw_enforce_format {
	BW_ENFORCE_RPZ,
	BW_ENFORCE_NFT,
	BW_ENFORCE_IPSET,
};

#define BW_ENFORCE_ZONE "rpz.bulwark."
#define BW_ENFORCE_TTL 60

int bw_enforce_export(struct bw_store *st, enum bw_enforce_format f,
		      int64_t now, FILE *out, struct bw_err *err);

#endif
