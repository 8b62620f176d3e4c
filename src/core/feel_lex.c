/*
 * feel_lex.c - the FEEL tokenizer.
 *
 * FEEL names may contain spaces ("Years of Service", "date and time"), so a
 * name is recognised by trying every name the caller knows at this position
 * (longest match wins, any run of blanks matching one space); otherwise a
 * single word is a name token.
 */
#include <string.h>

#include "feel_internal.h"

static bool
is_blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool
is_name_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static bool
is_name_char(unsigned char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9') || c == '\'';
}

/* Matches name at text[pos..]: end offset, or 0. */
static size_t
match_name_at(const char *text, size_t len, size_t pos, const char *name, size_t nlen)
{
	size_t		i = pos,
				k = 0;

	if (nlen == 0)
		return 0;				/* an empty name (a context key "") is never a variable */
	while (k < nlen)
	{
		if (name[k] == ' ')
		{
			if (i >= len || !is_blank((unsigned char) text[i]))
				return 0;
			while (i < len && is_blank((unsigned char) text[i]))
				i++;
			while (k < nlen && name[k] == ' ')
				k++;
			continue;
		}
		if (i >= len || text[i] != name[k])
			return 0;
		i++;
		k++;
	}
	if (i < len && is_name_char((unsigned char) text[i]) && is_name_char((unsigned char) name[nlen - 1]))
		return 0;
	return i;
}

bool
feel_name_matches(const char *text, size_t start, size_t end, const char *name, size_t nlen)
{
	return nlen > 0 && match_name_at(text, end, start, name, nlen) == end;
}

bool
feel_name_equal_norm(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t		i = 0,
				k = 0;

	while (i < alen && k < blen)
	{
		if (is_blank((unsigned char) a[i]) && is_blank((unsigned char) b[k]))
		{
			while (i < alen && is_blank((unsigned char) a[i]))
				i++;
			while (k < blen && is_blank((unsigned char) b[k]))
				k++;
			continue;
		}
		if (a[i] != b[k])
			return false;
		i++;
		k++;
	}
	return i == alen && k == blen;
}

static size_t
skip_blanks(const char *text, size_t len, size_t pos)
{
	for (;;)
	{
		while (pos < len && is_blank((unsigned char) text[pos]))
			pos++;
		if (pos + 1 < len && text[pos] == '/' && text[pos + 1] == '/')
		{
			while (pos < len && text[pos] != '\n')
				pos++;
			continue;
		}
		if (pos + 1 < len && text[pos] == '/' && text[pos + 1] == '*')
		{
			const char *e = NULL;

			for (size_t i = pos + 2; i + 1 < len; i++)
			{
				if (text[i] == '*' && text[i + 1] == '/')
				{
					e = text + i;
					break;
				}
			}
			pos = e ? (size_t) (e - text) + 2 : len;
			continue;
		}
		/* U+00A0 no-break space */
		if (pos + 1 < len && (unsigned char) text[pos] == 0xC2 && (unsigned char) text[pos + 1] == 0xA0)
		{
			pos += 2;
			continue;
		}
		return pos;
	}
}

static size_t
lex_number(const char *text, size_t len, size_t i)
{
	while (i < len && text[i] >= '0' && text[i] <= '9')
		i++;
	if (i + 1 < len && text[i] == '.' && text[i + 1] >= '0' && text[i + 1] <= '9')
	{
		i++;
		while (i < len && text[i] >= '0' && text[i] <= '9')
			i++;
	}
	if (i < len && (text[i] == 'e' || text[i] == 'E'))
	{
		size_t		j = i + 1;

		if (j < len && (text[j] == '+' || text[j] == '-'))
			j++;
		if (j < len && text[j] >= '0' && text[j] <= '9')
		{
			while (j < len && text[j] >= '0' && text[j] <= '9')
				j++;
			i = j;
		}
	}
	return i;
}

static FeelTok
lex_punct(const char *text, size_t len, size_t i, size_t *end)
{
	char		c = text[i];
	char		n = i + 1 < len ? text[i + 1] : '\0';

	*end = i + 1;
	switch (c)
	{
		case '(':
			return FT_LPAREN;
		case ')':
			return FT_RPAREN;
		case '[':
			return FT_LBRACK;
		case ']':
			return FT_RBRACK;
		case '{':
			return FT_LBRACE;
		case '}':
			return FT_RBRACE;
		case ',':
			return FT_COMMA;
		case ':':
			return FT_COLON;
		case '+':
			return FT_PLUS;
		case '-':
			return FT_MINUS;
		case '/':
			return FT_SLASH;
		case '?':
			return FT_QMARK;
		case '@':
			return FT_AT;
		case '=':
			return FT_EQ;
		case '.':
			if (n == '.')
				return *end = i + 2, FT_DOTDOT;
			return FT_DOT;
		case '*':
			if (n == '*')
				return *end = i + 2, FT_POW;
			return FT_STAR;
		case '<':
			if (n == '=')
				return *end = i + 2, FT_LE;
			return FT_LT;
		case '>':
			if (n == '=')
				return *end = i + 2, FT_GE;
			return FT_GT;
		case '!':
			if (n == '=')
				return *end = i + 2, FT_NE;
			return FT_ERROR;
		default:
			return FT_ERROR;
	}
}

FeelToken
feel_lex(const char *text, size_t len, size_t pos, const FeelLexNames *const *sets, int nsets)
{
	FeelToken	t;
	unsigned char c;

	pos = skip_blanks(text, len, pos);
	t.start = pos;
	t.end = pos;
	if (pos >= len)
		return t.tok = FT_EOF, t;
	c = (unsigned char) text[pos];
	if ((c >= '0' && c <= '9') || (c == '.' && pos + 1 < len && text[pos + 1] >= '0' && text[pos + 1] <= '9'))
	{
		t.end = lex_number(text, len, pos);
		return t.tok = FT_NUMBER, t;
	}
	if (c == '"')
	{
		size_t		i = pos + 1;

		while (i < len && text[i] != '"')
			i += text[i] == '\\' && i + 1 < len ? 2 : 1;
		if (i >= len)
			return t.tok = FT_ERROR, t;
		t.end = i + 1;
		return t.tok = FT_STRING, t;
	}
	if (is_name_start(c))
	{
		size_t		best = 0;

		for (int s = 0; s < nsets; s++)
		{
			for (int k = 0; sets[s] && k < sets[s]->n; k++)
			{
				size_t		e = match_name_at(text, len, pos, sets[s]->names[k], sets[s]->lens[k]);

				if (e > best)
					best = e;
			}
		}
		if (best == 0)
		{
			best = pos;
			while (best < len && is_name_char((unsigned char) text[best]))
				best++;
		}
		t.end = best;
		return t.tok = FT_NAME, t;
	}
	t.tok = lex_punct(text, len, pos, &t.end);
	return t;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void
put_utf8(char *out, size_t *n, unsigned cp)
{
	if (cp < 0x80)
		out[(*n)++] = (char) cp;
	else if (cp < 0x800)
	{
		out[(*n)++] = (char) (0xC0 | (cp >> 6));
		out[(*n)++] = (char) (0x80 | (cp & 0x3F));
	}
	else
	{
		out[(*n)++] = (char) (0xE0 | (cp >> 12));
		out[(*n)++] = (char) (0x80 | ((cp >> 6) & 0x3F));
		out[(*n)++] = (char) (0x80 | (cp & 0x3F));
	}
}

bool
feel_unquote(const char *text, const FeelToken *t, CrmArena *arena, FeelStr *out)
{
	size_t		n = 0;
	char	   *buf = crm_arena_alloc(arena, t->end - t->start + 1);

	for (size_t i = t->start + 1; i + 1 < t->end; i++)
	{
		char		c = text[i];

		if (c != '\\')
		{
			buf[n++] = c;
			continue;
		}
		c = text[++i];
		if (c == 'n')
			buf[n++] = '\n';
		else if (c == 't')
			buf[n++] = '\t';
		else if (c == 'r')
			buf[n++] = '\r';
		else if (c == 'u' && i + 4 < t->end)
		{
			unsigned	cp = 0;

			for (int k = 1; k <= 4; k++)
			{
				int			h = hexval(text[i + k]);

				if (h < 0)
					return false;
				cp = cp * 16 + (unsigned) h;
			}
			if (cp == 0)
				return false;
			put_utf8(buf, &n, cp);
			i += 4;
		}
		else if (c == '"' || c == '\\' || c == '\'')
			buf[n++] = c;
		else
			return false;
	}
	buf[n] = '\0';
	out->s = buf;
	out->len = n;
	return true;
}

int
feel_char_pos(const char *text, size_t off)
{
	int			n = 1;

	for (size_t i = 0; i < off && text[i]; i++)
	{
		if (((unsigned char) text[i] & 0xC0) != 0x80)
			n++;
	}
	return n;
}
