/*
 * schema_old.h - SQL that turns a new store back into an older schema, for
 * the migration tests: drop what each later version added, newest first.
 */
#ifndef BW_TEST_SCHEMA_OLD_H
#define BW_TEST_SCHEMA_OLD_H

/* Undoes schema 5 (disruption, audit, outbox, api_key kind and label). */
#define SCHEMA_DROP_V5                                                      \
	"DROP TABLE outbox; DROP TABLE audit; DROP TABLE rpz_change;"       \
	" DROP TABLE guard_entry; DROP TABLE action_event;"                 \
	" DROP TABLE action; DROP TABLE authz_item; DROP TABLE authz;"      \
	" ALTER TABLE api_key DROP COLUMN label;"                           \
	" ALTER TABLE api_key DROP COLUMN kind;"

#endif
