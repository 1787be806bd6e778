/*
 * schema_old.h - SQL that turns a new store back into an older schema, for
 * the migration tests: drop what each later version added, newest first.
 */
#ifndef BW_TEST_SCHEMA_OLD_H
#define BW_TEST_SCHEMA_OLD_H

/* Undoes schema 7 (the daemon's report log). */
#define SCHEMA_DROP_V7 "DROP TABLE report_log;"

/* Undoes schema 6 (notifications, contacts, incidents). */
#define SCHEMA_DROP_V6                                                      \
	"DROP TABLE sighting_queue; DROP TABLE secret;"                     \
	" DROP TABLE incident_event; DROP TABLE incident;"                  \
	" DROP TABLE contact; DROP TABLE digest_item;"                      \
	" DROP TABLE notify_target; ALTER TABLE outbox DROP COLUMN claimed;"

/* Undoes schema 5 (disruption, audit, outbox, api_key kind and label). */
#define SCHEMA_DROP_V5                                                      \
	"DROP INDEX record_ip_pair; DROP TABLE abuse_contact;"              \
	" DROP TABLE outbox; DROP TABLE audit; DROP TABLE rpz_change;"      \
	" DROP TABLE guard_entry; DROP TABLE action_event;"                 \
	" DROP TABLE action; DROP TABLE authz_item; DROP TABLE authz;"      \
	" ALTER TABLE api_key DROP COLUMN label;"                           \
	" ALTER TABLE api_key DROP COLUMN kind;"

/* Everything after schema 4. */
#define SCHEMA_DROP_AFTER_V4 SCHEMA_DROP_V7 SCHEMA_DROP_V6 SCHEMA_DROP_V5

#endif
