/*
 * crm_core.h - shared definitions of the server-independent core.
 *
 * Nothing under src/core includes postgres.h.  The core allocates through
 * hooks that its host installs (the server glue installs palloc-based ones in
 * _PG_init; the unit tests and fuzzers install malloc-based ones), and it
 * reports errors by filling a CrmError that the caller turns into whatever
 * its host uses: ereport() in the server, a failed assertion in a test.
 */
#ifndef CRM_CORE_H
#define CRM_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Error classes; src/pg/crm_error.c maps each to a SQLSTATE. */
typedef enum CrmErrCode
{
	CRM_OK = 0,
	CRM_ERR_SYNTAX,				/* malformed text input: 22P02 */
	CRM_ERR_INVALID,			/* invalid parameter value: 22023 */
	CRM_ERR_RANGE,				/* numeric value out of range: 22003 */
	CRM_ERR_DIV_ZERO,			/* division by zero: 22012 */
	CRM_ERR_TYPE,				/* datatype mismatch: 42804 */
	CRM_ERR_NOT_FOUND,			/* undefined object: 42704 */
	CRM_ERR_XML,				/* invalid XML document: 2200M */
	CRM_ERR_DATA,				/* other data exception: 22000 */
	CRM_ERR_LIMIT,				/* program limit exceeded: 54000 */
	CRM_ERR_NOMEM,				/* out of memory: 53200 */
	CRM_ERR_INTERNAL			/* cannot happen: XX000 */
} CrmErrCode;

#define CRM_MSG_LEN 256

/*
 * The result of a failed core call.  message and detail are complete
 * sentences without a trailing period (PostgreSQL message style), hint may be
 * empty, position is a 1-based character offset into the parsed text or 0
 * when it does not apply.
 */
typedef struct CrmError
{
	CrmErrCode	code;
	int			position;
	char		message[CRM_MSG_LEN];
	char		detail[CRM_MSG_LEN];
	char		hint[CRM_MSG_LEN];
} CrmError;

/*
 * Allocator hooks.  crm_alloc never returns NULL: the host's hook must not
 * return on failure.  Memory is aligned to CRM_ALIGN bytes only (palloc's
 * MAXALIGN): core types must not require more (no 16-byte aligned members).
 */
#define CRM_ALIGN 8
typedef void *(*CrmAllocFn) (size_t size);
typedef void *(*CrmReallocFn) (void *ptr, size_t size);
typedef void (*CrmFreeFn) (void *ptr);

extern void crm_set_allocator(CrmAllocFn alloc, CrmReallocFn realloc_fn, CrmFreeFn free_fn);
extern void *crm_alloc(size_t size);
extern void *crm_alloc0(size_t size);
extern void *crm_realloc(void *ptr, size_t size);
extern void crm_free(void *ptr);
extern char *crm_strdup(const char *s);
extern char *crm_strndup(const char *s, size_t n);

/* Error helpers: all return false so that "return crm_fail(...)" reads naturally. */
extern void crm_error_clear(CrmError *err);
extern bool crm_fail(CrmError *err, CrmErrCode code, int position, const char *fmt,...)
			__attribute__((format(printf, 4, 5)));
extern void crm_error_detail(CrmError *err, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));
extern void crm_error_hint(CrmError *err, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));

/* A growable string buffer in allocator memory. */
typedef struct CrmBuf
{
	char	   *data;
	size_t		len;
	size_t		cap;
} CrmBuf;

extern void crm_buf_init(CrmBuf *buf);
extern void crm_buf_reserve(CrmBuf *buf, size_t extra);
extern void crm_buf_append(CrmBuf *buf, const char *s, size_t n);
extern void crm_buf_puts(CrmBuf *buf, const char *s);
extern void crm_buf_putc(CrmBuf *buf, char c);
extern void crm_buf_printf(CrmBuf *buf, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));
extern void crm_buf_reset(CrmBuf *buf);
extern void crm_buf_free(CrmBuf *buf);

/*
 * A bump arena: many small allocations freed at once.  Compiled programs
 * (decision tables, fence indexes) live in one so that dropping them is one call.
 */
typedef struct CrmArenaBlock CrmArenaBlock;
typedef struct CrmArena
{
	CrmArenaBlock *head;
	size_t		block_size;
	size_t		total;
} CrmArena;

extern void crm_arena_init(CrmArena *arena, size_t block_size);
extern void *crm_arena_alloc(CrmArena *arena, size_t size);
extern char *crm_arena_strdup(CrmArena *arena, const char *s, size_t n);
extern void crm_arena_free(CrmArena *arena);

#endif							/* CRM_CORE_H */
