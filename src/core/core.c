/*
 * core.c - allocator hooks, errors, string buffers and arenas for src/core.
 */
#include "crm_core.h"

#include <stdio.h>
#include <string.h>

static CrmAllocFn alloc_hook = NULL;
static CrmReallocFn realloc_hook = NULL;
static CrmFreeFn free_hook = NULL;

void
crm_set_allocator(CrmAllocFn alloc, CrmReallocFn realloc_fn, CrmFreeFn free_fn)
{
	alloc_hook = alloc;
	realloc_hook = realloc_fn;
	free_hook = free_fn;
}

void *
crm_alloc(size_t size)
{
	return alloc_hook(size == 0 ? 1 : size);
}

void *
crm_alloc0(size_t size)
{
	void	   *p = crm_alloc(size);

	memset(p, 0, size);
	return p;
}

void *
crm_realloc(void *ptr, size_t size)
{
	if (ptr == NULL)
		return crm_alloc(size);
	return realloc_hook(ptr, size == 0 ? 1 : size);
}

void
crm_free(void *ptr)
{
	if (ptr != NULL)
		free_hook(ptr);
}

char *
crm_strndup(const char *s, size_t n)
{
	char	   *d = crm_alloc(n + 1);

	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

char *
crm_strdup(const char *s)
{
	return crm_strndup(s, strlen(s));
}

void
crm_error_clear(CrmError *err)
{
	err->code = CRM_OK;
	err->position = 0;
	err->message[0] = err->detail[0] = err->hint[0] = '\0';
}

bool
crm_fail(CrmError *err, CrmErrCode code, int position, const char *fmt,...)
{
	va_list		ap;

	crm_error_clear(err);
	err->code = code;
	err->position = position;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return false;
}

void
crm_error_detail(CrmError *err, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
}

void
crm_error_hint(CrmError *err, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(err->hint, sizeof(err->hint), fmt, ap);
	va_end(ap);
}

/* ---- string buffer ---- */

void
crm_buf_init(CrmBuf *buf)
{
	buf->cap = 64;
	buf->len = 0;
	buf->data = crm_alloc(buf->cap);
	buf->data[0] = '\0';
}

void
crm_buf_reserve(CrmBuf *buf, size_t extra)
{
	size_t		need = buf->len + extra + 1;

	if (need <= buf->cap)
		return;
	while (buf->cap < need)
		buf->cap *= 2;
	buf->data = crm_realloc(buf->data, buf->cap);
}

void
crm_buf_append(CrmBuf *buf, const char *s, size_t n)
{
	crm_buf_reserve(buf, n);
	memcpy(buf->data + buf->len, s, n);
	buf->len += n;
	buf->data[buf->len] = '\0';
}

void
crm_buf_puts(CrmBuf *buf, const char *s)
{
	crm_buf_append(buf, s, strlen(s));
}

void
crm_buf_putc(CrmBuf *buf, char c)
{
	crm_buf_append(buf, &c, 1);
}

void
crm_buf_printf(CrmBuf *buf, const char *fmt,...)
{
	va_list		ap;
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(buf->data + buf->len, buf->cap - buf->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t) n >= buf->cap - buf->len)
	{
		crm_buf_reserve(buf, (size_t) n);
		va_start(ap, fmt);
		vsnprintf(buf->data + buf->len, buf->cap - buf->len, fmt, ap);
		va_end(ap);
	}
	buf->len += (size_t) n;
}

void
crm_buf_reset(CrmBuf *buf)
{
	buf->len = 0;
	buf->data[0] = '\0';
}

void
crm_buf_free(CrmBuf *buf)
{
	crm_free(buf->data);
	buf->data = NULL;
	buf->len = buf->cap = 0;
}

/* ---- arena ---- */

/*
 * Arena payloads are aligned to CRM_ALIGN (8), not to max_align_t: the
 * server's allocator (palloc) guarantees only MAXALIGN, 8 bytes on the
 * platforms PostgreSQL supports, so core types must not need more.
 */
struct CrmArenaBlock
{
	CrmArenaBlock *next;
	size_t		used;
	size_t		size;
	uint64_t	payload[];		/* 8-aligned when the block is */
};

void
crm_arena_init(CrmArena *arena, size_t block_size)
{
	arena->head = NULL;
	arena->block_size = block_size < 256 ? 256 : block_size;
	arena->total = 0;
}

void *
crm_arena_alloc(CrmArena *arena, size_t size)
{
	CrmArenaBlock *b = arena->head;

	size = (size + CRM_ALIGN - 1) & ~((size_t) CRM_ALIGN - 1);
	if (b == NULL || b->size - b->used < size)
	{
		size_t		bs = size > arena->block_size ? size : arena->block_size;

		b = crm_alloc(sizeof(CrmArenaBlock) + bs);
		b->next = arena->head;
		b->used = 0;
		b->size = bs;
		arena->head = b;
		arena->total += bs;
	}
	b->used += size;
	return (char *) b->payload + (b->used - size);
}

char *
crm_arena_strdup(CrmArena *arena, const char *s, size_t n)
{
	char	   *d = crm_arena_alloc(arena, n + 1);

	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

void
crm_arena_free(CrmArena *arena)
{
	CrmArenaBlock *b = arena->head;

	while (b != NULL)
	{
		CrmArenaBlock *next = b->next;

		crm_free(b);
		b = next;
	}
	arena->head = NULL;
	arena->total = 0;
}
