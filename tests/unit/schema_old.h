/*
 * schema_old.h - SQL that turns a new store back into an older schema, for
 * the migration tests: drop what each later version added, newest first.
 */
#ifndef BW_TEST_SCHEMA_OLD_H
#define BW_TEST_SCHEMA_OLD_H

/* Undoes schema 9 (resolutions, action.score, exception rows in the zone
 * journal): the journal goes back to action rows only. */
#define SCHEMA_DROP_V9                                                      \
	"DROP TABLE resolution; ALTER TABLE action DROP COLUMN score;"      \
	" DELETE FROM rpz_change WHERE action_id IS NULL;"                  \
	" ALTER TABLE rpz_change RENAME TO rpz_change_v9;"                  \
	" CREATE TABLE rpz_change (serial INTEGER PRIMARY KEY AUTOINCREMENT," \
	" time INTEGER NOT NULL, action_id INTEGER NOT NULL REFERENCES action(id)," \
	" op TEXT NOT NULL CHECK (op IN ('add', 'del')));"                  \
	" INSERT INTO rpz_change SELECT serial, time, action_id, op FROM rpz_change_v9;" \
	" DELETE FROM sqlite_sequence WHERE name = 'rpz_change';"           \
	" UPDATE sqlite_sequence SET name = 'rpz_change' WHERE name = 'rpz_change_v9';" \
	" DROP TABLE rpz_change_v9;"

/* Undoes schema 8 (the index generation and its triggers). */
#define SCHEMA_DROP_V8                                                      \
	"DROP TRIGGER index_gen_record_del;"                                 \
	" DROP TRIGGER index_gen_record_upd; DROP TRIGGER index_gen_rtag_ins;" \
	" DROP TRIGGER index_gen_rtag_del; DROP TRIGGER index_gen_rtag_upd;"   \
	" DROP TRIGGER index_gen_tag_upd; DROP TRIGGER index_gen_tag_del;"     \
	" DROP TRIGGER index_gen_ind_upd; DROP TRIGGER index_gen_ind_del;"     \
	" DROP TABLE index_gen;"

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
	"DROP INDEX record_ip_pair;"                                         \
	" DROP TABLE abuse_contact;"                                        \
	" DROP TABLE outbox; DROP TABLE audit; DROP TABLE rpz_change;"      \
	" DROP TABLE guard_entry; DROP TABLE action_event;"                 \
	" DROP TABLE action; DROP TABLE authz_item; DROP TABLE authz;"      \
	" ALTER TABLE api_key DROP COLUMN label;"                           \
	" ALTER TABLE api_key DROP COLUMN kind;"

/* Everything after schema 4. */
#define SCHEMA_DROP_AFTER_V4                                                \
	SCHEMA_DROP_V9 SCHEMA_DROP_V8 SCHEMA_DROP_V7 SCHEMA_DROP_V6 SCHEMA_DROP_V5

#endif
