/*
 * pdf — libharu glue: document, embedded fonts, text and shapes; see
 * pdf.h.
 *
 * libharu calls an error handler and goes on returning error codes; the
 * handler here records the first error and counts the others, and the
 * document is refused when it is saved.  Nothing jumps out of libharu.
 *
 * Text comes in UTF-8.  A string whose characters all exist in
 * Windows-1252 (all of French: accents, œ, €, ’, « ») is drawn with the
 * face loaded as a simple TrueType font in that encoding; any other
 * (a Polish or Greek customer name) with the same face as a Type 0 (CID)
 * font through libharu's UTF-8 encoder, made only when a document needs
 * it (see pick()).  Both are embedded, and both give the text back to
 * pdftotext (WinAnsi names, ToUnicode map).  Invalid UTF-8 would make
 * libharu stop with an error: bad bytes become '?', control characters
 * spaces.
 */
#include "pdf.h"

#include <errno.h>
#include <hpdf.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "billing/money.h"
#include "common/atomicfile.h"
#include "common/xalloc.h"
#include "ttfsubset.h"

#define DEFAULT_FONT_DIR "/usr/share/fonts/truetype/dejavu"

static const char *const font_files[2] = {
	"DejaVuSans.ttf",
	"DejaVuSans-Bold.ttf",
};

struct pdf {
	HPDF_Doc doc;
	char *fontdir;		/* where its fonts came from */
	const char *fname[2];	/* libharu's names of the loaded fonts */
	HPDF_Page page; /* NULL before the first page and in dry mode */
	HPDF_Font font[2];  /* CP1252 (simple TrueType fonts) */
	HPDF_Font ufont[2]; /* UTF-8 (CID fonts), made on first need */
	int face;
	float size;
	int dry, pages;
	HPDF_STATUS err, detail; /* the first libharu error */
	unsigned nerr;
};

static void on_error(HPDF_STATUS error, HPDF_STATUS detail, void *user)
{
	struct pdf *p = user;

	if (p->nerr++ == 0) {
		p->err = error;
		p->detail = detail;
	}
}

static const char *error_text(HPDF_STATUS e)
{
	switch (e) {
	case HPDF_FAILD_TO_ALLOC_MEM:
		return "out of memory";
	case HPDF_FILE_IO_ERROR:
		return "file I/O error";
	case HPDF_FILE_OPEN_ERROR:
		return "cannot open file";
	case HPDF_TTF_CANNOT_EMBEDDING_FONT:
		return "the font does not allow embedding";
	case HPDF_TTF_INVALID_CMAP:
	case HPDF_TTF_INVALID_FOMAT:
	case HPDF_TTF_MISSING_TABLE:
		return "invalid TrueType font";
	case HPDF_INVALID_ENCODER:
	case HPDF_INVALID_ENCODER_TYPE:
		return "encoding error";
	default:
		return "libharu error";
	}
}

static int check(struct pdf *p, struct diag *d, const char *what)
{
	if (p->nerr == 0) {
		return 0;
	}
	diag_add(d, "%s: %s (libharu error 0x%04X, detail %u%s)", what,
		 error_text(p->err), (unsigned)p->err, (unsigned)p->detail,
		 p->nerr > 1 ? ", and more" : "");
	return -1;
}

static void set_date(HPDF_Doc doc, const char *date)
{
	HPDF_Date t;
	int y, m, dd;

	if (!date || sscanf(date, "%4d-%2d-%2d", &y, &m, &dd) != 3) {
		return;
	}
	memset(&t, 0, sizeof(t));
	t.year = y;
	t.month = m;
	t.day = dd;
	t.ind = 'Z';
	HPDF_SetInfoDateAttr(doc, HPDF_INFO_CREATION_DATE, t);
	HPDF_SetInfoDateAttr(doc, HPDF_INFO_MOD_DATE, t);
}

/*
 * Finished documents go back to a small pool: HPDF_NewDoc() empties a
 * document but keeps its loaded fonts, so the next one neither reads nor
 * parses the TrueType files again (a third of the time of a one-page
 * invoice).  A document that had an error is never reused.
 */
#define POOL_MAX 8
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pdf *pool[POOL_MAX];
static size_t npool;

static struct pdf *pool_take(const char *dir)
{
	struct pdf *p = NULL;

	pthread_mutex_lock(&pool_lock);
	for (size_t i = 0; i < npool; i++) {
		if (!strcmp(pool[i]->fontdir, dir)) {
			p = pool[i];
			pool[i] = pool[--npool];
			break;
		}
	}
	pthread_mutex_unlock(&pool_lock);
	return p;
}

static void destroy(struct pdf *p)
{
	if (p->doc) {
		HPDF_Free(p->doc);
	}
	free(p->fontdir);
	free(p);
}

/* A new libharu document with the fonts of dir loaded, or NULL. */
static struct pdf *create(const char *dir, struct diag *d)
{
	struct pdf *p = xcalloc(1, sizeof(*p));

	p->fontdir = xstrdup(dir);
	p->doc = HPDF_New(on_error, p);
	if (!p->doc) {
		diag_add(d, "PDF: out of memory");
		destroy(p);
		return NULL;
	}
	HPDF_UseUTFEncodings(p->doc);
	for (int f = 0; f < 2; f++) {
		char *path = xasprintf("%s/%s", dir, font_files[f]);
		const char *use;

		if (access(path, R_OK) != 0) {
			diag_add(d, "font %s: %s (install fonts-dejavu-core or "
				    "set RELEVE_FONT_DIR)",
				 path, strerror(errno));
			free(path);
			destroy(p);
			return NULL;
		}
		/* The subset, or the whole font when it cannot be made. */
		use = ttfsubset_path(path);
		p->fname[f] = HPDF_LoadTTFontFromFile(p->doc, use ? use : path,
						      HPDF_TRUE);
		if (!p->fname[f] || check(p, d, path) != 0) {
			if (p->nerr == 0) {
				diag_add(d, "font %s: cannot be loaded", path);
			}
			free(path);
			destroy(p);
			return NULL;
		}
		free(path);
	}
	return p;
}

struct pdf *pdf_new(const char *title, const char *date, struct diag *d)
{
	const char *dir = getenv("RELEVE_FONT_DIR");
	struct pdf *p;

	if (!dir || !*dir) {
		dir = DEFAULT_FONT_DIR;
	}
	p = pool_take(dir);
	if (p) {
		HPDF_NewDoc(p->doc);
	} else {
		p = create(dir, d);
		if (!p) {
			return NULL;
		}
	}
	HPDF_SetCompressionMode(p->doc, HPDF_COMP_ALL);
	HPDF_SetCurrentEncoder(p->doc, "UTF-8");
	for (int f = 0; f < 2; f++) {
		p->font[f] = HPDF_GetFont(p->doc, p->fname[f], "CP1252");
		p->ufont[f] = NULL;
	}
	HPDF_SetInfoAttr(p->doc, HPDF_INFO_CREATOR, "releve");
	HPDF_SetInfoAttr(p->doc, HPDF_INFO_PRODUCER, "releve " RELEVE_VERSION
						     " (libharu)");
	if (title) {
		HPDF_SetInfoAttr(p->doc, HPDF_INFO_TITLE, title);
	}
	set_date(p->doc, date);
	if (!p->font[0] || !p->font[1] || check(p, d, "PDF") != 0) {
		if (p->nerr == 0) {
			diag_add(d, "PDF: cannot set up the fonts");
		}
		destroy(p);
		return NULL;
	}
	p->page = NULL;
	p->face = PDF_REGULAR;
	p->size = 10;
	p->dry = 0;
	p->pages = 0;
	return p;
}

void pdf_free(struct pdf *p)
{
	if (!p) {
		return;
	}
	if (p->nerr == 0) {
		HPDF_FreeDoc(p->doc);
		pthread_mutex_lock(&pool_lock);
		if (npool < POOL_MAX) {
			pool[npool++] = p;
			p = NULL;
		}
		pthread_mutex_unlock(&pool_lock);
	}
	if (p) {
		destroy(p);
	}
}

void pdf_set_dry(struct pdf *p, int dry)
{
	if (p->dry && !dry) {
		p->pages = 0;
	}
	p->dry = dry;
	p->page = NULL;
}

int pdf_pages(const struct pdf *p)
{
	return p->pages;
}

void pdf_page_new(struct pdf *p)
{
	p->pages++;
	if (p->dry) {
		return;
	}
	p->page = HPDF_AddPage(p->doc);
	if (p->page) {
		HPDF_Page_SetSize(p->page, HPDF_PAGE_SIZE_A4,
				  HPDF_PAGE_PORTRAIT);
	}
}

void pdf_font(struct pdf *p, enum pdf_face face, float size)
{
	p->face = face == PDF_BOLD ? PDF_BOLD : PDF_REGULAR;
	p->size = size;
}

/* The length of the longest valid UTF-8 prefix of s[0..len). */
static size_t utf8_valid(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		unsigned c = u[i];
		size_t n;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			n = 1;
		} else if (c >= 0xE0 && c <= 0xEF) {
			n = 2;
		} else if (c >= 0xF0 && c <= 0xF4) {
			n = 3;
		} else {
			return i;
		}
		if (i + n >= len) {
			return i;
		}
		for (size_t k = 1; k <= n; k++) {
			if ((u[i + k] & 0xC0) != 0x80) {
				return i;
			}
		}
		i += n + 1;
	}
	return i;
}

/* Windows-1252's characters 0x80..0x9F (0: unassigned). */
static const unsigned short cp1252_high[32] = {
	0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
	0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
};

/*
 * UTF-8 s[0..len) as Windows-1252 in out (len + 1 bytes), control
 * characters as spaces.  0, or -1 when a character has no code there.
 */
static int to_cp1252(const char *s, size_t len, char *out)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, j = 0;

	while (i < len) {
		unsigned cp, n = 0;

		if (u[i] < 0x80) {
			cp = u[i];
		} else if (u[i] >= 0xC2 && u[i] <= 0xDF) {
			cp = u[i] & 0x1Fu, n = 1;
		} else if (u[i] >= 0xE0 && u[i] <= 0xEF) {
			cp = u[i] & 0x0Fu, n = 2;
		} else {
			return -1;
		}
		if (n && i + n >= len) {
			return -1;
		}
		for (unsigned k = 1; k <= n; k++) {
			if ((u[i + k] & 0xC0) != 0x80) {
				return -1;
			}
			cp = cp << 6 | (u[i + k] & 0x3Fu);
		}
		i += n + 1;
		if (cp < 0x20 || cp == 0x7F) {
			out[j++] = ' ';
		} else if (cp < 0x80 || (cp >= 0xA0 && cp <= 0xFF)) {
			out[j++] = (char)cp;
		} else {
			int k;

			for (k = 0; k < 32 && cp1252_high[k] != cp; k++) {
			}
			if (k == 32) {
				return -1;
			}
			out[j++] = (char)(0x80 + k);
		}
	}
	out[j] = '\0';
	return 0;
}

/*
 * s made safe for libharu's UTF-8 encoder: valid UTF-8, no control
 * characters, nothing beyond U+FFFF (the encoder handles the BMP only;
 * those become '?').  A new string.
 */
static char *clean_utf8(const char *s, size_t len)
{
	char *o = xmalloc(len + 1);
	size_t i = 0, j = 0;

	while (i < len) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x80) {
			o[j++] = (c < 0x20 || c == 0x7F) ? ' ' : (char)c;
			i++;
		} else if (c < 0xF0 && utf8_valid(s + i, len - i) > 0) {
			size_t n = c >= 0xE0 ? 3 : 2;

			memcpy(o + j, s + i, n);
			j += n;
			i += n;
		} else {
			o[j++] = '?';
			i++;
			while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80) {
				i++;
			}
		}
	}
	o[j] = '\0';
	return o;
}

/*
 * The font and bytes that show s[0..len) in the current face: the
 * Windows-1252 font when every character has a code there (all of
 * French), else the UTF-8 CID font.  Why two: libharu builds a CID font's
 * tables by looking up all 65536 code points, per document, which costs
 * more than the rest of a one-page invoice; a simple TrueType font has
 * 256 codes.  *out is a new string (caller frees).
 */
static HPDF_Font pick(struct pdf *p, const char *s, size_t len, char **out)
{
	int f = p->face;

	*out = xmalloc(len + 1);
	if (to_cp1252(s, len, *out) == 0) {
		return p->font[f];
	}
	free(*out);
	*out = clean_utf8(s, len);
	if (!p->ufont[f]) {
		p->ufont[f] = HPDF_GetFont(p->doc, p->fname[f], "UTF-8");
	}
	return p->ufont[f];
}

static float width_n(struct pdf *p, const char *s, size_t len)
{
	char *t;
	HPDF_Font f;
	HPDF_TextWidth w;

	if (len == 0) {
		return 0;
	}
	f = pick(p, s, len, &t);
	w = f ? HPDF_Font_TextWidth(f, (const HPDF_BYTE *)t,
				    (HPDF_UINT)strlen(t))
	      : (HPDF_TextWidth){0, 0, 0, 0};
	free(t);
	return (float)w.width * p->size / 1000.0f;
}

float pdf_width(struct pdf *p, const char *s)
{
	return width_n(p, s, strlen(s));
}

static void text_n(struct pdf *p, float x, float y, const char *s,
		   size_t len)
{
	char *t;
	HPDF_Font f;

	if (!p->page || len == 0) {
		return;
	}
	f = pick(p, s, len, &t);
	if (f) {
		HPDF_Page_BeginText(p->page);
		HPDF_Page_SetFontAndSize(p->page, f, p->size);
		HPDF_Page_TextOut(p->page, x, y, t);
		HPDF_Page_EndText(p->page);
	}
	free(t);
}

void pdf_text(struct pdf *p, float x, float y, const char *s)
{
	text_n(p, x, y, s, strlen(s));
}

void pdf_text_right(struct pdf *p, float x, float y, const char *s)
{
	if (p->page) {
		text_n(p, x - pdf_width(p, s), y, s, strlen(s));
	}
}

void pdf_text_center(struct pdf *p, float x, float y, const char *s)
{
	if (p->page) {
		text_n(p, x - pdf_width(p, s) / 2, y, s, strlen(s));
	}
}

/* The byte length of the UTF-8 character at s (1 for a stray byte). */
static size_t char_len(const char *s)
{
	unsigned char c = (unsigned char)*s;
	size_t n = c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;

	for (size_t k = 1; k < n; k++) {
		if (((unsigned char)s[k] & 0xC0) != 0x80) {
			return 1;
		}
	}
	return n;
}

/*
 * Lay s out; draw when draw is set.  Returns the number of lines.  Widths
 * add up (libharu does not kern), so each word is measured once.
 */
static int wrap(struct pdf *p, float x, float y, float width, float leading,
		const char *s, int draw)
{
	int lines = 0;

	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t para = nl ? (size_t)(nl - s) : strlen(s);
		size_t start = 0;

		do {
			size_t end = start;
			float w = 0;

			/* the longest run of words that fits */
			while (end < para) {
				size_t next = end;
				float ww;

				while (next < para && s[next] == ' ') {
					next++;
				}
				while (next < para && s[next] != ' ') {
					next++;
				}
				ww = width_n(p, s + end, next - end);
				if (w + ww > width && end > start) {
					break;
				}
				w += ww;
				end = next;
			}
			/* one word wider than the line: cut it */
			if (w > width) {
				size_t i = start;

				w = 0;
				while (i < end) {
					size_t n = char_len(s + i);
					float cw = width_n(p, s + i, n);

					if (w + cw > width && i > start) {
						break;
					}
					w += cw;
					i += n;
				}
				end = i;
			}
			if (draw) {
				text_n(p, x, y - (float)lines * leading,
				       s + start, end - start);
			}
			lines++;
			start = end;
			while (start < para && s[start] == ' ') {
				start++;
			}
		} while (start < para);
		s += para;
		if (*s == '\n') {
			s++;
		}
	}
	return lines;
}

int pdf_wrap(struct pdf *p, float x, float y, float width, float leading,
	     const char *s)
{
	return wrap(p, x, y, width, leading, s, p->page != NULL);
}

int pdf_wrap_count(struct pdf *p, float width, const char *s)
{
	return wrap(p, 0, 0, width, 0, s, 0);
}

void pdf_fill_rgb(struct pdf *p, float r, float g, float b)
{
	if (p->page) {
		HPDF_Page_SetRGBFill(p->page, r, g, b);
	}
}

void pdf_stroke_rgb(struct pdf *p, float r, float g, float b)
{
	if (p->page) {
		HPDF_Page_SetRGBStroke(p->page, r, g, b);
	}
}

void pdf_line(struct pdf *p, float x1, float y1, float x2, float y2,
	      float width)
{
	if (!p->page) {
		return;
	}
	HPDF_Page_SetLineWidth(p->page, width);
	HPDF_Page_MoveTo(p->page, x1, y1);
	HPDF_Page_LineTo(p->page, x2, y2);
	HPDF_Page_Stroke(p->page);
}

void pdf_rect(struct pdf *p, float x, float y, float w, float h)
{
	if (!p->page) {
		return;
	}
	HPDF_Page_Rectangle(p->page, x, y, w, h);
	HPDF_Page_Fill(p->page);
}

void pdf_polyline(struct pdf *p, const float *xs, const float *ys, size_t n,
		  float width)
{
	if (!p->page || n < 2) {
		return;
	}
	HPDF_Page_SetLineWidth(p->page, width);
	HPDF_Page_MoveTo(p->page, xs[0], ys[0]);
	for (size_t i = 1; i < n; i++) {
		HPDF_Page_LineTo(p->page, xs[i], ys[i]);
	}
	HPDF_Page_Stroke(p->page);
}

int pdf_buffer(struct pdf *p, unsigned char **buf, size_t *len,
	       struct diag *d)
{
	HPDF_UINT32 size, got;

	*buf = NULL;
	*len = 0;
	if (check(p, d, "PDF") != 0) {
		return -1;
	}
	if (p->pages == 0) {
		diag_add(d, "PDF: the document has no page");
		return -1;
	}
	HPDF_SaveToStream(p->doc);
	size = HPDF_GetStreamSize(p->doc);
	if (check(p, d, "PDF") != 0 || size == 0) {
		if (size == 0 && p->nerr == 0) {
			diag_add(d, "PDF: empty output");
		}
		return -1;
	}
	*buf = xmalloc(size);
	got = size;
	HPDF_ResetStream(p->doc);
	HPDF_ReadFromStream(p->doc, *buf, &got);
	/* ReadFromStream reports the end of the stream as an error. */
	if (p->nerr && p->err == HPDF_STREAM_EOF) {
		p->nerr = 0;
	}
	if (check(p, d, "PDF") != 0 || got != size) {
		if (p->nerr == 0) {
			diag_add(d, "PDF: short read from the memory stream");
		}
		free(*buf);
		*buf = NULL;
		return -1;
	}
	*len = size;
	return 0;
}

int pdf_save(struct pdf *p, const char *path, struct diag *d)
{
	unsigned char *buf;
	size_t len;
	int rc;

	if (pdf_buffer(p, &buf, &len, d) != 0) {
		return -1;
	}
	rc = atomicfile_write(path, (const char *)buf, len, 0644, d);
	free(buf);
	return rc;
}

/* Group the digits of an unsigned decimal string by three with spaces. */
static void group(char *out, const char *digits)
{
	size_t n = strlen(digits), j = 0;

	for (size_t i = 0; i < n; i++) {
		if (i > 0 && (n - i) % 3 == 0) {
			out[j++] = ' ';
		}
		out[j++] = digits[i];
	}
	out[j] = '\0';
}

/* "-1234.5600" -> "-1 234,5600" */
static char *frenchify(char *buf, const char *plain)
{
	char ip[MONEY_FMT_MAX], grouped[PDF_NUM_MAX], out[2 * PDF_NUM_MAX];
	const char *s = plain, *dot;
	size_t il;
	int neg = *s == '-';

	if (neg) {
		s++;
	}
	dot = strchr(s, '.');
	il = dot ? (size_t)(dot - s) : strlen(s);
	if (il >= sizeof(ip)) {
		il = sizeof(ip) - 1;
	}
	memcpy(ip, s, il);
	ip[il] = '\0';
	group(grouped, ip);
	/* At most 1 + 47 + 1 + 31 bytes: room enough, then cut to size. */
	snprintf(out, sizeof(out), "%s%s%s%.31s", neg ? "-" : "", grouped,
		 dot ? "," : "", dot ? dot + 1 : "");
	memcpy(buf, out, PDF_NUM_MAX - 1);
	buf[PDF_NUM_MAX - 1] = '\0';
	return buf;
}

char *pdf_fr_cents(char *buf, long long cents)
{
	char plain[MONEY_FMT_MAX];

	return frenchify(buf, money_format_cents(plain, (int64_t)cents));
}

char *pdf_fr_micro(char *buf, long long micro, int min_places)
{
	char plain[MONEY_FMT_MAX];

	return frenchify(buf, money_format(plain, (int64_t)micro, min_places));
}

char *pdf_fr_int(char *buf, long long n)
{
	char plain[PDF_NUM_MAX];

	snprintf(plain, sizeof(plain), "%lld", n);
	return frenchify(buf, plain);
}

char *pdf_fr_date(char *buf, const char *iso)
{
	int y, m, d;
	char tail;

	if (iso && sscanf(iso, "%4d-%2d-%2d%c", &y, &m, &d, &tail) == 3) {
		snprintf(buf, PDF_NUM_MAX, "%02d/%02d/%04d", d, m, y);
	} else {
		snprintf(buf, PDF_NUM_MAX, "%s", iso ? iso : "");
	}
	return buf;
}
