/*
 * notice.h - takedown notices and the operator's directory of abuse
 * contacts.
 *
 * The directory is a CSV file the operator loads (replacing the previous
 * one) with `bulwark disrupt contacts load FILE`:
 *
 *   # role,match,name,email
 *   reporter,-,CERT-EE,cert@cert.ee
 *   registrar,domain:ee,Example Registry,abuse@registry.example
 *   registrar,domain:shop-example.ee,Example Registrar,abuse@registrar.example
 *   hosting,cidr:192.0.2.0/24,Example Hosting,abuse@hosting.example
 *   hosting,domain:cdn.example,Example CDN,abuse@cdn.example
 *
 * role is reporter (who the notices come from; one line, match "-"),
 * registrar or hosting.  A domain match covers the domain and its
 * subdomains; a cidr match the addresses in the prefix.  For a domain
 * action, the registrar contact is the registrar entry with the longest
 * matching domain; hosting contacts are the hosting entries with the
 * longest matching domain and those whose prefix holds an address the
 * domain resolves to in the store (MISP domain|ip pairs: the records of
 * one source whose external ids are X and X|ip).
 *
 * When a domain action becomes active, one outbox row (channel smtp) is
 * written per distinct contact address, in the transaction of the
 * transition, with the idempotency key "takedown:ACTION:EMAIL" so that a
 * re-activation (after an appeal) queues nothing twice.  The row's
 * content_type is "multipart/mixed; boundary=..." and its body the MIME
 * body: a text/plain part for people and an application/json part holding
 * the X-ARF v4 report (category reputation, type threat_intelligence) with
 * the evidence (sources, confidence, first and last seen, sightings) and
 * the authorisation reference.  The deliverer adds From (the reporter),
 * To (destination), Subject, Date, Message-ID and MIME-Version.
 */
#ifndef BW_DISRUPT_NOTICE_H
#define BW_DISRUPT_NOTICE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "disrupt/action.h"
#include "store/store.h"

#define BW_CONTACTS_MAX 100000
#define BW_CONTACTS_FILE_MAX (8 * 1024 * 1024)
#define BW_CONTACT_TEXT_MAX 256

struct bw_contact {
	char role[16];                          /* reporter, registrar, hosting */
	char match[BW_CONTACT_TEXT_MAX + 8];    /* "domain:ee", "cidr:...", "-" */
	char name[BW_CONTACT_TEXT_MAX + 1];
	char email[BW_CONTACT_TEXT_MAX + 1];
};

/* Replaces the directory with the file at path (own transaction, audited
 * as contacts.load by op).  BW_EINVAL naming the line for a bad line.
 * *n (if not NULL) gets how many contacts were loaded. */
int bw_contacts_load(struct bw_store *st, const char *path, const char *op,
		     int64_t now, long *n, struct bw_err *err);

/* The directory, in file order, into an array freed with bw_free(). */
int bw_contacts_list(struct bw_store *st, struct bw_contact **out, size_t *n,
		     struct bw_err *err);

/* Queues the notices of domain action a (which is entering 'active')
 * inside the caller's transaction; *queued (if not NULL) gets how many new
 * outbox rows were written.  Nothing for other types or without
 * contacts. */
int bw_notice_queue_in_txn(struct bw_store *st, const struct bw_action *a,
			   int64_t now, long *queued, struct bw_err *err);

#endif
