/*
 * ttfsubset — cut a TrueType font down to the scripts releve prints; see
 * ttfsubset.h.
 *
 * Why: libharu 2.3.0 copies into every PDF the font's hmtx, loca, cmap,
 * post and name tables whole (only glyf is reduced to the glyphs used),
 * and builds the CID font's width and CIDToGID tables by looking up all
 * 65536 code points in the cmap, segment by segment.  With DejaVu Sans
 * (6000 glyphs, 700 cmap segments) that is 150 KiB and some 15 ms per face
 * and document.  The subset keeps the glyphs of the code point ranges
 * below (and the glyphs their composites use), renumbered, with a cmap of
 * one segment, a post table without glyph names (format 3) and
 * the name records 0..6 only.  Hinting tables (cvt, fpgm, prep) and the
 * glyph programs are kept as they are, so the glyphs render the same.
 *
 * The input is hostile in principle (RELEVE_FONT_DIR): every offset is
 * checked against the file's size; on any inconsistency the subset is
 * not made and the caller embeds the whole font.
 */
#include "ttfsubset.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/file.h"
#include "common/xalloc.h"

/* The code points kept: Latin (with Latin Extended A and B: every EU
 * language written in Latin script), Greek, Cyrillic, punctuation,
 * currency signs, letterlike symbols, arrows, minus, geometric shapes. */
static const uint32_t ranges[][2] = {
	{0x0020, 0x007E}, {0x00A0, 0x024F}, {0x0370, 0x03FF},
	{0x0400, 0x04FF}, {0x1E00, 0x1EFF}, {0x2000, 0x206F},
	{0x20A0, 0x20CF}, {0x2100, 0x215F}, {0x2190, 0x2199},
	{0x2212, 0x2212}, {0x25A0, 0x25FF},
};
#define NRANGES (sizeof(ranges) / sizeof(ranges[0]))

struct table {
	char tag[5];
	const unsigned char *data;
	uint32_t len;
	unsigned char *own; /* rebuilt tables */
};

struct font {
	const unsigned char *d;
	size_t len;
	struct table t[32];
	size_t nt;
};

static uint16_t g16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t g32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void p16(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static void p32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static struct table *find(struct font *f, const char *tag)
{
	for (size_t i = 0; i < f->nt; i++) {
		if (!memcmp(f->t[i].tag, tag, 4)) {
			return &f->t[i];
		}
	}
	return NULL;
}

static int parse_dir(struct font *f)
{
	size_t n;

	if (f->len < 12 || g32(f->d) != 0x00010000) {
		return -1;
	}
	n = g16(f->d + 4);
	if (n > 32 || 12 + 16 * n > f->len) {
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const unsigned char *r = f->d + 12 + 16 * i;
		uint32_t off = g32(r + 8), len = g32(r + 12);

		if (off > f->len || len > f->len - off) {
			return -1;
		}
		memcpy(f->t[i].tag, r, 4);
		f->t[i].tag[4] = '\0';
		f->t[i].data = f->d + off;
		f->t[i].len = len;
		f->t[i].own = NULL;
	}
	f->nt = n;
	return 0;
}

/* The glyph of code point cp in a format 4 cmap subtable, 0 if none. */
static uint16_t cmap4_lookup(const unsigned char *s, uint32_t len, uint32_t cp)
{
	uint16_t segx2 = g16(s + 6), seg = segx2 / 2;
	const unsigned char *ends = s + 14, *starts = ends + segx2 + 2;
	const unsigned char *deltas = starts + segx2, *ros = deltas + segx2;

	if (cp > 0xFFFF || 16 + 4 * (uint32_t)segx2 > len) {
		return 0;
	}
	for (uint16_t i = 0; i < seg; i++) {
		uint16_t end = g16(ends + 2 * i), start = g16(starts + 2 * i);
		uint16_t ro = g16(ros + 2 * i), delta = g16(deltas + 2 * i);
		const unsigned char *gp;
		uint16_t g;

		if (cp > end) {
			continue;
		}
		if (cp < start) {
			return 0;
		}
		if (ro == 0) {
			return (uint16_t)(cp + delta);
		}
		gp = ros + 2 * i + ro + 2 * (cp - start);
		if (gp < s || gp + 2 > s + len) {
			return 0;
		}
		g = g16(gp);
		return g ? (uint16_t)(g + delta) : 0;
	}
	return 0;
}

/* The (3,1) format 4 subtable of cmap, or NULL. */
static const unsigned char *cmap4(const struct table *cmap, uint32_t *len)
{
	const unsigned char *c = cmap->data;
	uint16_t n;

	if (cmap->len < 4) {
		return NULL;
	}
	n = g16(c + 2);
	if (4 + 8 * (uint32_t)n > cmap->len) {
		return NULL;
	}
	for (uint16_t i = 0; i < n; i++) {
		const unsigned char *r = c + 4 + 8 * i;
		uint32_t off = g32(r + 4);

		if (g16(r) == 3 && g16(r + 2) == 1 && off + 16 <= cmap->len &&
		    g16(c + off) == 4) {
			uint32_t l = g16(c + off + 2);

			*len = l < cmap->len - off ? l : cmap->len - off;
			return c + off;
		}
	}
	return NULL;
}

struct sub {
	struct font *f;
	uint32_t nglyphs, nh, longloca;
	const unsigned char *loca, *glyf, *hmtx;
	uint32_t glyflen, localen, hmtxlen;
	int32_t *newid; /* old glyph -> new, -1 when dropped */
	uint32_t *oldid;
	uint32_t nnew;
};

static int glyph_range(const struct sub *s, uint32_t g, uint32_t *off,
		       uint32_t *len)
{
	uint32_t a, b;

	if (g >= s->nglyphs) {
		return -1;
	}
	if (s->longloca) {
		a = g32(s->loca + 4 * g);
		b = g32(s->loca + 4 * g + 4);
	} else {
		a = 2u * g16(s->loca + 2 * g);
		b = 2u * g16(s->loca + 2 * g + 2);
	}
	if (a > b || b > s->glyflen) {
		return -1;
	}
	*off = a;
	*len = b - a;
	return 0;
}

/*
 * Walk the components of glyph data g (len bytes) when it is a
 * composite: mark them (ids NULL) or rewrite their ids (ids set).
 */
static int components(struct sub *s, unsigned char *g, uint32_t len,
		      const int32_t *ids, uint32_t *stack, uint32_t *nstack)
{
	uint32_t p = 10;
	uint16_t flags;

	if (len < 10 || (int16_t)g16(g) >= 0) {
		return 0;
	}
	if (!ids && !s->newid) {
		return -1;
	}
	do {
		uint32_t c;

		if (p + 4 > len) {
			return -1;
		}
		flags = g16(g + p);
		c = g16(g + p + 2);
		if (c >= s->nglyphs) {
			return -1;
		}
		if (ids) {
			if (ids[c] < 0) {
				return -1;
			}
			p16(g + p + 2, (uint32_t)ids[c]);
		} else if (s->newid[c] < 0) {
			s->newid[c] = 0;
			stack[(*nstack)++] = c;
		}
		p += 4 + ((flags & 0x0001) ? 4 : 2);
		if (flags & 0x0008) {
			p += 2;
		} else if (flags & 0x0040) {
			p += 4;
		} else if (flags & 0x0080) {
			p += 8;
		}
	} while (flags & 0x0020);
	return p <= len ? 0 : -1;
}

static unsigned char *build_glyf_loca(struct sub *s, uint32_t *glyflen,
				      unsigned char **loca)
{
	size_t cap = 0;
	unsigned char *out;
	uint32_t pos = 0;

	for (uint32_t i = 0; i < s->nnew; i++) {
		uint32_t off, len;

		if (glyph_range(s, s->oldid[i], &off, &len) != 0) {
			return NULL;
		}
		cap += (len + 3) & ~3u;
	}
	out = xcalloc(cap + 4, 1);
	*loca = xcalloc(4 * ((size_t)s->nnew + 1), 1);
	for (uint32_t i = 0; i < s->nnew; i++) {
		uint32_t off, len;

		if (glyph_range(s, s->oldid[i], &off, &len) != 0) {
			free(out);
			free(*loca);
			*loca = NULL;
			return NULL;
		}
		p32(*loca + 4 * i, pos);
		memcpy(out + pos, s->glyf + off, len);
		if (components(s, out + pos, len, s->newid, NULL, NULL) != 0) {
			free(out);
			free(*loca);
			*loca = NULL;
			return NULL;
		}
		pos += (len + 3) & ~3u;
	}
	p32(*loca + 4 * s->nnew, pos);
	*glyflen = pos;
	return out;
}

static unsigned char *build_hmtx(struct sub *s, uint32_t *len)
{
	unsigned char *h = xcalloc(4 * (size_t)s->nnew, 1);

	for (uint32_t i = 0; i < s->nnew; i++) {
		uint32_t g = s->oldid[i], aw, lsb;

		if (g < s->nh) {
			aw = g16(s->hmtx + 4 * g);
			lsb = g16(s->hmtx + 4 * g + 2);
		} else {
			aw = g16(s->hmtx + 4 * (s->nh - 1));
			lsb = g16(s->hmtx + 4 * s->nh + 2 * (g - s->nh));
		}
		p16(h + 4 * i, aw);
		p16(h + 4 * i + 2, lsb);
	}
	*len = 4 * s->nnew;
	return h;
}

static int kept(uint32_t cp)
{
	for (size_t r = 0; r < NRANGES; r++) {
		if (cp >= ranges[r][0] && cp <= ranges[r][1]) {
			return 1;
		}
	}
	return 0;
}

/*
 * One format 4 segment from the first kept code point to the last, glyphs
 * through glyphIdArray (0 between the ranges), and the final 0xFFFF one:
 * libharu scans the segments linearly for each of the 65536 code points
 * of its UTF-8 encoder, once per font and document.
 */
static unsigned char *build_cmap(struct sub *s, const unsigned char *c4,
				 uint32_t c4len, uint32_t *len)
{
	uint32_t lo = ranges[0][0], hi = ranges[NRANGES - 1][1];
	uint32_t ncodes = hi - lo + 1, sublen, p = 12;
	unsigned char *c, *ends, *starts, *deltas, *ros, *gids;

	sublen = 16 + 8 * 2 + 2 * ncodes;
	*len = 12 + sublen;
	c = xcalloc(*len, 1);
	p16(c + 2, 1);	/* one subtable: */
	p16(c + 4, 3);	/* Windows, */
	p16(c + 6, 1);	/* Unicode BMP */
	p32(c + 8, 12);
	p16(c + p, 4);
	p16(c + p + 2, sublen);
	p16(c + p + 6, 4);  /* segCountX2 */
	p16(c + p + 8, 4);  /* searchRange */
	p16(c + p + 10, 1); /* entrySelector */
	p16(c + p + 12, 0); /* rangeShift */
	ends = c + p + 14;
	starts = ends + 4 + 2;
	deltas = starts + 4;
	ros = deltas + 4;
	gids = ros + 4;
	p16(ends, hi);
	p16(ends + 2, 0xFFFF);
	p16(starts, lo);
	p16(starts + 2, 0xFFFF);
	p16(deltas + 2, 1);
	p16(ros, 4); /* from ros[0] to glyphIdArray[0] */
	for (uint32_t cp = lo; cp <= hi; cp++) {
		uint16_t g = kept(cp) ? cmap4_lookup(c4, c4len, cp) : 0;

		p16(gids + 2 * (cp - lo),
		    g && g < s->nglyphs && s->newid[g] > 0
			    ? (uint32_t)s->newid[g]
			    : 0);
	}
	return c;
}

/* The name records 0..6 (copyright .. PostScript name), nothing else. */
static unsigned char *build_name(const struct table *t, uint32_t *len)
{
	const unsigned char *d = t->data;
	uint16_t n, soff;
	uint32_t keep = 0, slen = 0, p;
	unsigned char *o;

	if (t->len < 6) {
		return NULL;
	}
	n = g16(d + 2);
	soff = g16(d + 4);
	if (6 + 12 * (uint32_t)n > t->len || soff > t->len) {
		return NULL;
	}
	for (uint16_t i = 0; i < n; i++) {
		const unsigned char *r = d + 6 + 12 * i;

		if (g16(r + 6) <= 6) {
			if ((uint32_t)soff + g16(r + 10) + g16(r + 8) > t->len) {
				return NULL;
			}
			keep++;
			slen += g16(r + 8);
		}
	}
	*len = 6 + 12 * keep + slen;
	o = xcalloc(*len, 1);
	p16(o + 2, keep);
	p16(o + 4, 6 + 12 * keep);
	p = 0;
	keep = 0;
	for (uint16_t i = 0; i < n; i++) {
		const unsigned char *r = d + 6 + 12 * i;
		unsigned char *w = o + 6 + 12 * keep;

		if (g16(r + 6) > 6) {
			continue;
		}
		memcpy(w, r, 8);
		p16(w + 8, g16(r + 8));
		p16(w + 10, p);
		memcpy(o + g16(o + 4) + p, d + soff + g16(r + 10), g16(r + 8));
		p += g16(r + 8);
		keep++;
	}
	return o;
}

static uint32_t checksum(const unsigned char *d, uint32_t len)
{
	uint32_t sum = 0, i;

	for (i = 0; i + 4 <= len; i += 4) {
		sum += g32(d + i);
	}
	if (i < len) {
		unsigned char last[4] = {0, 0, 0, 0};

		memcpy(last, d + i, len - i);
		sum += g32(last);
	}
	return sum;
}

/* The whole subset font file, or NULL. */
static unsigned char *subset(const unsigned char *d, size_t dlen,
			     size_t *outlen)
{
	static const char *const keep[] = {
		"OS/2", "cmap", "cvt ", "fpgm", "gasp", "glyf", "head",
		"hhea", "hmtx", "loca", "maxp", "name", "post", "prep",
	};
	struct font f = {.d = d, .len = dlen};
	struct table *head, *maxp, *hhea, *hmtx, *loca, *glyf, *cmap, *post,
		*name;
	struct sub s;
	const unsigned char *c4;
	uint32_t c4len = 0, *stack = NULL, nstack = 0, glyflen = 0, hmtxlen,
		 cmaplen, namelen;
	unsigned char *out = NULL, *newloca = NULL;
	unsigned char *nglyf = NULL, *nhmtx = NULL, *ncmap = NULL;
	unsigned char *nname = NULL, nhead[54], nhhea[36], nmaxp[32],
		      npost[32];
	size_t nt = 0, pos;

	memset(&s, 0, sizeof(s));
	if (parse_dir(&f) != 0) {
		return NULL;
	}
	head = find(&f, "head");
	maxp = find(&f, "maxp");
	hhea = find(&f, "hhea");
	hmtx = find(&f, "hmtx");
	loca = find(&f, "loca");
	glyf = find(&f, "glyf");
	cmap = find(&f, "cmap");
	post = find(&f, "post");
	name = find(&f, "name");
	if (!head || head->len < 54 || !maxp || maxp->len < 6 || !hhea ||
	    hhea->len < 36 || !hmtx || !loca || !glyf || !cmap || !post ||
	    post->len < 32 || !name || !(c4 = cmap4(cmap, &c4len))) {
		return NULL;
	}
	s.f = &f;
	s.nglyphs = g16(maxp->data + 4);
	s.nh = g16(hhea->data + 34);
	s.longloca = g16(head->data + 50) == 1;
	s.loca = loca->data;
	s.glyf = glyf->data;
	s.glyflen = glyf->len;
	s.hmtx = hmtx->data;
	if (s.nglyphs == 0 || s.nh == 0 || s.nh > s.nglyphs ||
	    loca->len < (s.nglyphs + 1) * (s.longloca ? 4 : 2) ||
	    hmtx->len < 4 * s.nh + 2 * (s.nglyphs - s.nh)) {
		return NULL;
	}
	/* the glyphs: .notdef, the ranges', then their components */
	s.newid = xmalloc(sizeof(int32_t) * s.nglyphs);
	s.oldid = xmalloc(sizeof(uint32_t) * s.nglyphs);
	stack = xmalloc(sizeof(uint32_t) * s.nglyphs);
	for (uint32_t g = 0; g < s.nglyphs; g++) {
		s.newid[g] = -1;
	}
	s.newid[0] = 0;
	stack[nstack++] = 0;
	for (size_t r = 0; r < NRANGES; r++) {
		for (uint32_t cp = ranges[r][0]; cp <= ranges[r][1]; cp++) {
			uint16_t g = cmap4_lookup(c4, c4len, cp);

			if (g && g < s.nglyphs && s.newid[g] < 0) {
				s.newid[g] = 0;
				stack[nstack++] = g;
			}
		}
	}
	while (nstack > 0) {
		uint32_t g = stack[--nstack], off, len;

		if (glyph_range(&s, g, &off, &len) != 0 ||
		    components(&s, (unsigned char *)(uintptr_t)(s.glyf + off),
			       len, NULL, stack, &nstack) != 0) {
			goto done;
		}
	}
	for (uint32_t g = 0; g < s.nglyphs; g++) {
		if (s.newid[g] >= 0) {
			s.newid[g] = (int32_t)s.nnew;
			s.oldid[s.nnew++] = g;
		}
	}
	nglyf = build_glyf_loca(&s, &glyflen, &newloca);
	if (!nglyf) {
		goto done;
	}
	nhmtx = build_hmtx(&s, &hmtxlen);
	ncmap = build_cmap(&s, c4, c4len, &cmaplen);
	nname = build_name(name, &namelen);
	if (!nname) {
		goto done;
	}
	memcpy(nhead, head->data, 54);
	p32(nhead + 8, 0);	/* checkSumAdjustment, set below */
	p16(nhead + 50, 1);	/* long loca */
	memcpy(nhhea, hhea->data, 36);
	p16(nhhea + 34, s.nnew);
	memcpy(nmaxp, maxp->data, maxp->len < 32 ? maxp->len : 32);
	p16(nmaxp + 4, s.nnew);
	memcpy(npost, post->data, 32);
	p32(npost, 0x00030000);

	/* the new directory, tables in tag order as in the input */
	{
		struct table t[16];
		uint32_t total, adj;
		uint32_t sr = 1, es = 0;

		for (size_t k = 0; k < sizeof(keep) / sizeof(keep[0]); k++) {
			struct table *in = find(&f, keep[k]);

			if (!in) {
				if (!strcmp(keep[k], "gasp")) {
					continue;
				}
				goto done;
			}
			t[nt] = *in;
			if (!strcmp(keep[k], "glyf")) {
				t[nt].data = nglyf, t[nt].len = glyflen;
			} else if (!strcmp(keep[k], "loca")) {
				t[nt].data = newloca;
				t[nt].len = 4 * (s.nnew + 1);
			} else if (!strcmp(keep[k], "hmtx")) {
				t[nt].data = nhmtx, t[nt].len = hmtxlen;
			} else if (!strcmp(keep[k], "cmap")) {
				t[nt].data = ncmap, t[nt].len = cmaplen;
			} else if (!strcmp(keep[k], "name")) {
				t[nt].data = nname, t[nt].len = namelen;
			} else if (!strcmp(keep[k], "head")) {
				t[nt].data = nhead, t[nt].len = 54;
			} else if (!strcmp(keep[k], "hhea")) {
				t[nt].data = nhhea, t[nt].len = 36;
			} else if (!strcmp(keep[k], "maxp")) {
				t[nt].data = nmaxp;
				t[nt].len = maxp->len < 32 ? maxp->len : 32;
			} else if (!strcmp(keep[k], "post")) {
				t[nt].data = npost, t[nt].len = 32;
			}
			nt++;
		}
		total = 12 + 16 * (uint32_t)nt;
		for (size_t k = 0; k < nt; k++) {
			total += (t[k].len + 3) & ~3u;
		}
		out = xcalloc(total, 1);
		p32(out, 0x00010000);
		p16(out + 4, (uint32_t)nt);
		while (sr * 2 <= nt) {
			sr *= 2;
			es++;
		}
		p16(out + 6, 16 * sr);
		p16(out + 8, es);
		p16(out + 10, 16 * ((uint32_t)nt - sr));
		pos = 12 + 16 * nt;
		for (size_t k = 0; k < nt; k++) {
			unsigned char *r = out + 12 + 16 * k;

			memcpy(r, t[k].tag, 4);
			p32(r + 4, checksum(t[k].data, t[k].len));
			p32(r + 8, (uint32_t)pos);
			p32(r + 12, t[k].len);
			memcpy(out + pos, t[k].data, t[k].len);
			pos += (t[k].len + 3) & ~3u;
		}
		adj = 0xB1B0AFBAu - checksum(out, total);
		for (size_t k = 0; k < nt; k++) {
			unsigned char *r = out + 12 + 16 * k;

			if (!memcmp(r, "head", 4)) {
				p32(out + g32(r + 8) + 8, adj);
			}
		}
		*outlen = total;
	}
done:
	free(s.newid);
	free(s.oldid);
	free(stack);
	free(nglyf);
	free(newloca);
	free(nhmtx);
	free(ncmap);
	free(nname);
	return out;
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char *path, *subset; /* subset NULL: could not be made */
} cache[8];
static size_t ncache;

static char *make(const char *path)
{
	size_t len, outlen = 0;
	char *data, *res = NULL;
	unsigned char *out;
	struct diag d = DIAG_INIT;
	int fd;

	data = file_read_all(path, &len, &d);
	diag_free(&d);
	if (!data) {
		return NULL;
	}
	out = subset((const unsigned char *)data, len, &outlen);
	free(data);
	if (!out) {
		return NULL;
	}
	fd = memfd_create("releve-font", MFD_CLOEXEC);
	if (fd >= 0) {
		size_t off = 0;

		while (off < outlen) {
			ssize_t w = write(fd, out + off, outlen - off);

			if (w <= 0) {
				break;
			}
			off += (size_t)w;
		}
		if (off == outlen) {
			res = xasprintf("/proc/self/fd/%d", fd);
		} else {
			close(fd);
		}
	}
	free(out);
	return res;
}

const char *ttfsubset_path(const char *path)
{
	const char *res = NULL;
	size_t i;

	if (getenv("RELEVE_FONT_NOSUBSET")) {
		return NULL;
	}
	pthread_mutex_lock(&lock);
	for (i = 0; i < ncache; i++) {
		if (!strcmp(cache[i].path, path)) {
			res = cache[i].subset;
			break;
		}
	}
	if (i == ncache && ncache < sizeof(cache) / sizeof(cache[0])) {
		cache[ncache].path = xstrdup(path);
		cache[ncache].subset = make(path);
		res = cache[ncache++].subset;
	}
	pthread_mutex_unlock(&lock);
	return res;
}
