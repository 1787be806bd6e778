/*
 * incident_api.h - the acknowledgement of an incident over HTTP
 * (src/share/incident.h):
 *
 *   POST /v1/incidents/ID/ack                with "Authorization: Bearer KEY"
 *                                            of the incident's tenant
 *   GET  /v1/incidents/ID/ack?token=HEX      the link in the mail: a page
 *                                            with one button, which POSTs
 *   POST /v1/incidents/ID/ack?token=HEX      that button (no body)
 *
 * A GET never changes anything, so a mail scanner that follows links does
 * not acknowledge for the reader.  The POSTs carry no body: the HTTP server
 * lets bodiless POSTs through under BW_INCIDENT_API_PREFIX only.
 * Answers: 200 {"id":N,"state":"acknowledged"} (or an HTML page for the
 * link), 401 without a valid key or token, 404 for another tenant's or an
 * unknown incident, 409 for a closed one.
 */
#ifndef BW_NET_INCIDENT_API_H
#define BW_NET_INCIDENT_API_H

#include "net/http.h"
#include "store/store.h"

#define BW_INCIDENT_API_PREFIX "/v1/incidents/"

/* Answers a request under BW_INCIDENT_API_PREFIX with the store
 * connection st (one per thread); tenant (3 bytes) and *key_id get the
 * caller's tenant and key for the request log. */
void bw_incident_api_handle(struct bw_store *st, const struct bw_http_request *req,
			    struct bw_http_response *resp, char tenant[3],
			    long long *key_id);

#endif
