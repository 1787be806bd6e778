/*
 * report_render.c - HTML, PDF and JSON forms of a tenant report.
 *
 * Layout is a column of blocks (heading, paragraph, table, chart) written
 * top to bottom.  The PDF writer measures each block with pango before it
 * draws it and starts a new page when the block would cross the bottom
 * margin; it runs twice, first into a surface that discards its output,
 * to learn the page count for the "page N of M" footers.  Charts are one
 * cairo routine drawn into a PNG (for HTML) or straight onto the PDF page.
 */
#include "share/report_render.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <jansson.h>
#include <pango/pangocairo.h>
#include <sodium.h>
#include <stdarg.h>
#include <string.h>

#include "core/dynlib.h"
#include "core/mem.h"
#include "core/timeutil.h"

/* cairo and pango are opened by the first chart or PDF drawn (core/dynlib.h),
 * through libpangocairo, whose handle also finds cairo's, pango's and
 * GObject's functions: the commands that draw nothing start without
 * them (and the X and font libraries they need). */
#define RENDER_FUNCTIONS(F) F(cairo_create) F(cairo_destroy) F(cairo_fill) \
	F(cairo_image_surface_create) F(cairo_line_to) F(cairo_move_to) \
	F(cairo_pdf_surface_create_for_stream) F(cairo_pdf_surface_set_metadata) \
	F(cairo_rectangle) F(cairo_restore) F(cairo_save) F(cairo_scale) \
	F(cairo_set_line_width) F(cairo_set_source_rgb) F(cairo_show_page) F(cairo_stroke) \
	F(cairo_surface_destroy) F(cairo_surface_finish) F(cairo_surface_status) \
	F(cairo_surface_write_to_png_stream) F(g_object_unref) \
	F(pango_cairo_context_set_resolution) F(pango_cairo_create_layout) \
	F(pango_cairo_show_layout) F(pango_font_description_free) \
	F(pango_font_description_from_string) F(pango_layout_context_changed) \
	F(pango_layout_get_context) F(pango_layout_get_pixel_size) \
	F(pango_layout_set_ellipsize) F(pango_layout_set_font_description) \
	F(pango_layout_set_text) F(pango_layout_set_width) F(pango_layout_set_wrap)

BW_DYNLIB_DEFINE(render, RENDER_FUNCTIONS, "report rendering",
		 "libpangocairo-1.0.so.0 libpangocairo-1.0.so");

#define A4_W 595.0
#define A4_H 842.0
#define MARGIN 50.0
#define CHART_W 495.0
#define CHART_H 190.0 /* the time series; bar charts grow with their bars */
#define BAR_H 16.0
#define PNG_SCALE 2.0 /* PNG charts at twice the size, for sharp screens */
#define MAX_BARS 10

/* ---- charts ---- */

/* A layout in font whose sizes are points of user space (72 per inch on
 * the PDF page and in the chart's own units), not pango's 96-dpi pixels. */
static PangoLayout *
new_layout(cairo_t *cr, const char *font)
{
	PangoLayout *l = render.pango_cairo_create_layout(cr);
	PangoFontDescription *fd = render.pango_font_description_from_string(font);

	render.pango_cairo_context_set_resolution(render.pango_layout_get_context(l), 72.0);
	render.pango_layout_context_changed(l);
	render.pango_layout_set_font_description(l, fd);
	render.pango_font_description_free(fd);
	return l;
}

struct series {
	const char *title;
	size_t n;
	const char *const *labels; /* n labels, or NULL: day numbers */
	const long *values;
	int64_t first_day; /* for day labels */
	int bars_horizontal;
};

static void
text_at(cairo_t *cr, const char *font, const char *text, double x, double y,
	double max_w, int align_right)
{
	PangoLayout *l = new_layout(cr, font);
	int w, h;

	render.pango_layout_set_text(l, text, -1);
	if (max_w > 0) {
		render.pango_layout_set_width(l, (int)(max_w * PANGO_SCALE));
		render.pango_layout_set_ellipsize(l, PANGO_ELLIPSIZE_END);
	}
	render.pango_layout_get_pixel_size(l, &w, &h);
	render.cairo_move_to(cr, align_right ? x - w : x, y);
	render.pango_cairo_show_layout(cr, l);
	render.g_object_unref(l);
}

static long
max_of(const long *v, size_t n)
{
	long m = 0;

	for (size_t i = 0; i < n; i++)
		if (v[i] > m)
			m = v[i];
	return m;
}

/* A round upper bound for the axis: 1, 2 or 5 times a power of ten. */
static long
nice_ceiling(long v)
{
	long p = 1;

	if (v <= 0)
		return 1;
	while (p * 10 <= v)
		p *= 10;
	if (v <= p)
		return p;
	if (v <= 2 * p)
		return 2 * p;
	if (v <= 5 * p)
		return 5 * p;
	return 10 * p;
}

static double
chart_height(const struct series *s)
{
	if (!s->bars_horizontal)
		return CHART_H;
	return 24 + 10 + (s->n ? (double)s->n : 1.0) * BAR_H;
}

/* Draws the chart in the box (x, y, w, h) of user space. */
static void
draw_chart(cairo_t *cr, const struct series *s, double x, double y, double w, double h)
{
	double left = s->bars_horizontal ? 170 : 45, top = 24, bottom = 22;
	double pw = w - left - (s->bars_horizontal ? 50 : 10), ph = h - top - bottom;
	int ngrid;
	long top_v = nice_ceiling(max_of(s->values, s->n));
	char buf[64];

	render.cairo_save(cr);
	render.cairo_set_source_rgb(cr, 1, 1, 1);
	render.cairo_rectangle(cr, x, y, w, h);
	render.cairo_fill(cr);
	render.cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
	text_at(cr, "Sans Bold 10", s->title, x, y + 2, w, 0);
	if (s->n == 0) {
		text_at(cr, "Sans 9", "nothing in this period", x + 10, y + top + 10, w, 0);
		render.cairo_restore(cr);
		return;
	}
	if (s->bars_horizontal) {
		double bh = BAR_H;

		for (size_t i = 0; i < s->n; i++) {
			double bw = pw * (double)s->values[i] / (double)top_v;
			double by = y + top + (double)i * bh;

			render.cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
			text_at(cr, "Sans 8", s->labels[i], x, by + bh / 2 - 6, left - 8, 0);
			render.cairo_set_source_rgb(cr, 0.16, 0.38, 0.65);
			render.cairo_rectangle(cr, x + left, by + bh * 0.15, bw, bh * 0.7);
			render.cairo_fill(cr);
			snprintf(buf, sizeof(buf), "%ld", s->values[i]);
			render.cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
			text_at(cr, "Sans 8", buf, x + left + bw + 4, by + bh / 2 - 6, 0, 0);
		}
		render.cairo_restore(cr);
		return;
	}
	/* vertical bars over days, with a light grid */
	render.cairo_set_line_width(cr, 0.5);
	/* at most 4 grid steps, and whole numbers on every one */
	ngrid = top_v < 4 ? (int)top_v : 4;
	for (int g = 0; g <= ngrid; g++) {
		double gy = y + top + ph - ph * g / (double)ngrid;

		render.cairo_set_source_rgb(cr, 0.85, 0.85, 0.85);
		render.cairo_move_to(cr, x + left, gy);
		render.cairo_line_to(cr, x + left + pw, gy);
		render.cairo_stroke(cr);
		snprintf(buf, sizeof(buf), "%ld", top_v * g / ngrid);
		render.cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
		text_at(cr, "Sans 7", buf, x + left - 4, gy - 6, 0, 1);
	}
	for (size_t i = 0; i < s->n; i++) {
		double slot = pw / (double)s->n;
		double bh = ph * (double)s->values[i] / (double)top_v;
		double bx = x + left + (double)i * slot;

		render.cairo_set_source_rgb(cr, 0.80, 0.33, 0.15);
		render.cairo_rectangle(cr, bx + slot * 0.15, y + top + ph - bh, slot * 0.7, bh);
		render.cairo_fill(cr);
		if (s->n <= 14 || i % ((s->n + 13) / 14) == 0) {
			char day[32];

			bw_time_format(s->first_day + (int64_t)i * 86400, day);
			day[10] = '\0';
			render.cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
			text_at(cr, "Sans 6", day + 5, bx, y + top + ph + 4, slot * 2, 0);
		}
	}
	render.cairo_restore(cr);
}

struct membuf {
	unsigned char *p;
	size_t len, cap;
	int failed;
};

static cairo_status_t
membuf_write(void *closure, const unsigned char *data, unsigned int len)
{
	struct membuf *m = closure;
	unsigned char *p = bw_grow(m->p, &m->cap, m->len + len, 1);

	if (!p) {
		m->failed = 1;
		return CAIRO_STATUS_NO_MEMORY;
	}
	m->p = p;
	memcpy(m->p + m->len, data, len);
	m->len += len;
	return CAIRO_STATUS_SUCCESS;
}

/* The chart as a base64 PNG (owned by the caller), or NULL. */
static char *
chart_png_base64(const struct series *s)
{
	double h = chart_height(s);
	cairo_surface_t *sf = render.cairo_image_surface_create(CAIRO_FORMAT_RGB24,
								(int)(CHART_W * PNG_SCALE),
								(int)(h * PNG_SCALE));
	cairo_t *cr = render.cairo_create(sf);
	struct membuf m = {0};
	char *b64 = NULL;

	render.cairo_scale(cr, PNG_SCALE, PNG_SCALE);
	draw_chart(cr, s, 0, 0, CHART_W, h);
	render.cairo_destroy(cr);
	if (render.cairo_surface_write_to_png_stream(sf, membuf_write, &m) == CAIRO_STATUS_SUCCESS &&
	    !m.failed) {
		size_t cap = sodium_base64_encoded_len(m.len, sodium_base64_VARIANT_ORIGINAL);

		b64 = bw_malloc(cap);
		if (b64)
			sodium_bin2base64(b64, cap, m.p, m.len, sodium_base64_VARIANT_ORIGINAL);
	}
	render.cairo_surface_destroy(sf);
	bw_free(m.p);
	return b64;
}

/* ---- shared content ---- */

static void
period_text(const struct bw_report *r, char *buf, size_t n)
{
	char a[32], b[32];

	bw_time_format(r->from, a);
	bw_time_format(r->to, b);
	snprintf(buf, n, "%s to %s", a, b);
}

static const char *const headline_names[] = {
	"Threats in scope", "New this period", "New the period before",
	"Sightings in national networks", "Sightings the period before",
	"Indicators sighted", "Observers", "Lookalike domains of national brands",
	"Disruption actions",
};
#define NHEADLINES (sizeof(headline_names) / sizeof(headline_names[0]))

static void
headline_values(const struct bw_report *r, long v[NHEADLINES])
{
	v[0] = r->known;
	v[1] = r->new_indicators;
	v[2] = r->prev_new_indicators;
	v[3] = r->sightings;
	v[4] = r->prev_sightings;
	v[5] = r->sighted_indicators;
	v[6] = r->observers;
	v[7] = r->lookalikes_total;
	v[8] = (long)r->nactions;
}

static void
change_text(long now, long before, char *buf, size_t n)
{
	if (before == 0)
		snprintf(buf, n, now ? "up from none" : "none, as before");
	else if (now == before)
		snprintf(buf, n, "unchanged");
	else
		snprintf(buf, n, "%s %ld%%", now > before ? "up" : "down",
			 (long)((now > before ? now - before : before - now) * 100 / before));
}

/* The by-type and family series share the label storage of the report. */
struct charts {
	const char *type_labels[BW_IOC_NTYPES];
	long type_values[BW_IOC_NTYPES];
	const char *fam_labels[MAX_BARS];
	long fam_values[MAX_BARS];
	struct series daily, types, families;
};

static void
charts_init(const struct bw_report *r, struct charts *c)
{
	size_t nt = 0, nf = r->nfamilies < MAX_BARS ? r->nfamilies : MAX_BARS;

	for (int t = BW_IOC_ANY + 1; t < BW_IOC_NTYPES; t++)
		if (r->by_type[t]) {
			c->type_labels[nt] = bw_ioc_type_name((enum bw_ioc_type)t);
			c->type_values[nt++] = r->by_type[t];
		}
	for (size_t i = 0; i < nf; i++) {
		c->fam_labels[i] = r->families[i].name;
		c->fam_values[i] = r->families[i].count;
	}
	c->daily = (struct series){.title = "Sightings in national networks per day (UTC)",
				   .n = r->ndays, .values = r->daily_sightings,
				   .first_day = r->from};
	c->types = (struct series){.title = "Threats in scope by type", .n = nt,
				   .labels = c->type_labels, .values = c->type_values,
				   .bars_horizontal = 1};
	c->families = (struct series){.title = "Top malware families in scope", .n = nf,
				      .labels = c->fam_labels, .values = c->fam_values,
				      .bars_horizontal = 1};
}

/* ---- HTML ---- */

static void
html_text(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

static int
html_chart(FILE *f, const struct series *s, const char *id)
{
	char *b64 = chart_png_base64(s);

	if (!b64)
		return BW_ENOMEM;
	fprintf(f, "<p><img id=\"%s\" alt=\"", id);
	html_text(f, s->title);
	fprintf(f, "\" width=\"%d\" src=\"data:image/png;base64,%s\"></p>\n", (int)CHART_W, b64);
	bw_free(b64);
	return BW_OK;
}

static void
html_items(FILE *f, const struct bw_report_item *it, size_t n, const char *id)
{
	char t[32];

	fprintf(f, "<table id=\"%s\"><tr><th>Indicator</th><th>Type</th><th>Confidence</th>"
		"<th>First added</th><th>Why national</th><th>Tags</th></tr>\n", id);
	for (size_t i = 0; i < n; i++) {
		fputs("<tr><td>", f);
		html_text(f, it[i].value);
		fprintf(f, "</td><td>%s</td><td>", bw_ioc_type_name(it[i].type));
		if (it[i].confidence >= 0)
			fprintf(f, "%d", it[i].confidence);
		fprintf(f, "</td><td>%.10s</td><td>", bw_time_format(it[i].added, t));
		html_text(f, it[i].why);
		fputs("</td><td>", f);
		html_text(f, it[i].tags);
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);
}

static void
html_counts(FILE *f, const struct bw_report_count *c, size_t n, const char *what, const char *id)
{
	fprintf(f, "<table id=\"%s\"><tr><th>%s</th><th>Indicators</th></tr>\n", id, what);
	for (size_t i = 0; i < n && i < BW_REPORT_TOP; i++) {
		fputs("<tr><td>", f);
		html_text(f, c[i].name);
		fprintf(f, "</td><td>%ld</td></tr>\n", c[i].count);
	}
	fputs("</table>\n", f);
}

int
bw_report_write_html(const struct bw_report *r, FILE *f, struct bw_err *err)
{
	struct charts ch = {0};
	long v[NHEADLINES];
	char period[80], t[32], chg[64];
	int rc = bw_dynlib_ready(&render_lib, err);

	if (rc)
		return rc;
	charts_init(r, &ch);
	headline_values(r, v);
	period_text(r, period, sizeof(period));
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>", f);
	fprintf(f, "bulwark report %s ", r->country);
	html_text(f, period);
	fputs("</title>\n<style>body{font-family:sans-serif;max-width:52em;margin:2em auto;"
	      "color:#222}table{border-collapse:collapse;margin:.5em 0 1.5em}"
	      "td,th{border-bottom:1px solid #ddd;padding:.2em .6em;text-align:left}"
	      "td.n{text-align:right}h1{font-size:1.5em}h2{font-size:1.15em;"
	      "margin-top:2em}.muted{color:#666}</style></head><body>\n", f);
	fputs("<h1>Threat report for ", f);
	html_text(f, r->tenant_name);
	fprintf(f, " (%s)</h1>\n<p class=\"muted\">Period ", r->country);
	html_text(f, period);
	fprintf(f, "; generated %s by bulwark.  Only intelligence this tenant may see under "
		"TLP is counted.</p>\n", bw_time_format(r->generated, t));

	fputs("<h2>Headline figures</h2>\n<table id=\"headline\">\n", f);
	for (size_t i = 0; i < NHEADLINES; i++)
		fprintf(f, "<tr><td>%s</td><td class=\"n\" id=\"h%zu\">%ld</td></tr>\n",
			headline_names[i], i, v[i]);
	fputs("</table>\n<h2>What changed since the last report</h2>\n<ul>\n", f);
	change_text(r->new_indicators, r->prev_new_indicators, chg, sizeof(chg));
	fprintf(f, "<li>New threats in scope: %ld (%s; %ld the period before)</li>\n",
		r->new_indicators, chg, r->prev_new_indicators);
	change_text(r->sightings, r->prev_sightings, chg, sizeof(chg));
	fprintf(f, "<li>Sightings in national networks: %ld (%s; %ld the period before)</li>\n"
		"</ul>\n", r->sightings, chg, r->prev_sightings);

	fputs("<h2>Threats in scope</h2>\n", f);
	if (html_chart(f, &ch.types, "chart-types") || html_chart(f, &ch.families, "chart-families"))
		goto nomem;
	fputs("<h3>Newest threats in scope</h3>\n", f);
	html_items(f, r->top_new, r->ntop_new, "new");

	fputs("<h2>Sightings in national networks</h2>\n", f);
	if (html_chart(f, &ch.daily, "chart-daily"))
		goto nomem;

	fputs("<h2>Campaigns and actors active against ", f);
	html_text(f, r->tenant_name);
	fputs("</h2>\n", f);
	html_counts(f, r->campaigns, r->ncampaigns, "Campaign or report", "campaigns");
	html_counts(f, r->actors, r->nactors, "Actor", "actors");
	html_counts(f, r->families, r->nfamilies, "Malware family", "families");

	fputs("<h2>Disruption actions</h2>\n<table id=\"actions\"><tr><th>Id</th><th>Target</th>"
	      "<th>Kind</th><th>State</th><th>Expires</th></tr>\n", f);
	for (size_t i = 0; i < r->nactions; i++) {
		fprintf(f, "<tr><td>%lld</td><td>", (long long)r->actions[i].id);
		html_text(f, r->actions[i].target);
		fprintf(f, "</td><td>%s</td><td>%s</td><td>%s</td></tr>\n", r->actions[i].kind,
			r->actions[i].state, bw_time_format(r->actions[i].expires, t));
	}
	fputs("</table>\n", f);

	fputs("<h2>Foreign influence operations: lookalikes of national brands</h2>\n", f);
	fprintf(f, "<p>%ld lookalike domain(s) of this country's government and media brands"
		"%s.</p>\n", r->lookalikes_total,
		(size_t)r->lookalikes_total > r->nlookalikes ? " (the first 500 listed)" : "");
	html_items(f, r->lookalikes, r->nlookalikes, "lookalikes");
	html_counts(f, r->lookalike_actors, r->nlookalike_actors,
		    "Actor or family behind them", "lookalike-actors");
	fputs("</body></html>\n", f);
	if (ferror(f))
		return bw_err_set(err, BW_EIO, "report: writing the HTML failed");
	return BW_OK;
nomem:
	return bw_err_set(err, BW_ENOMEM, "report: out of memory drawing a chart");
}

/* ---- JSON ---- */

static json_t *
counts_json(const struct bw_report_count *c, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:s, s:I}", "name", c[i].name,
						   "count", (json_int_t)c[i].count));
	return a;
}

static json_t *
items_json(const struct bw_report_item *it, size_t n)
{
	json_t *a = json_array();
	char t[32];

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}",
			"type", bw_ioc_type_name(it[i].type), "value", it[i].value,
			"confidence", it[i].confidence, "added", bw_time_format(it[i].added, t),
			"why", it[i].why, "tags", it[i].tags ? it[i].tags : ""));
	return a;
}

int
bw_report_write_json(const struct bw_report *r, FILE *f, struct bw_err *err)
{
	json_t *o, *types = json_object(), *daily = json_array(), *acts = json_array();
	char a[32], b[32], g[32];
	int rc = BW_OK;

	for (int t = BW_IOC_ANY + 1; t < BW_IOC_NTYPES; t++)
		json_object_set_new(types, bw_ioc_type_name((enum bw_ioc_type)t),
				    json_integer(r->by_type[t]));
	for (size_t i = 0; i < r->ndays; i++)
		json_array_append_new(daily, json_integer(r->daily_sightings[i]));
	for (size_t i = 0; i < r->nactions; i++)
		json_array_append_new(acts, json_pack("{s:I, s:s, s:s, s:s, s:s}",
			"id", (json_int_t)r->actions[i].id,
			"type", bw_ioc_type_name(r->actions[i].type),
			"target", r->actions[i].target, "kind", r->actions[i].kind,
			"state", r->actions[i].state));
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:o, s:I, s:I, s:I, s:I,"
		      " s:o, s:o, s:o, s:o, s:o, s:I, s:o, s:o, s:o}",
		      "country", r->country, "tenant", r->tenant_name,
		      "from", bw_time_format(r->from, a), "to", bw_time_format(r->to, b),
		      "generated", bw_time_format(r->generated, g),
		      "known", (json_int_t)r->known, "new", (json_int_t)r->new_indicators,
		      "previous_new", (json_int_t)r->prev_new_indicators, "by_type", types,
		      "sightings", (json_int_t)r->sightings,
		      "previous_sightings", (json_int_t)r->prev_sightings,
		      "sighted_indicators", (json_int_t)r->sighted_indicators,
		      "observers", (json_int_t)r->observers, "daily_sightings", daily,
		      "families", counts_json(r->families, r->nfamilies),
		      "actors", counts_json(r->actors, r->nactors),
		      "campaigns", counts_json(r->campaigns, r->ncampaigns),
		      "top_new", items_json(r->top_new, r->ntop_new),
		      "lookalikes_total", (json_int_t)r->lookalikes_total,
		      "lookalikes", items_json(r->lookalikes, r->nlookalikes),
		      "lookalike_actors", counts_json(r->lookalike_actors, r->nlookalike_actors),
		      "actions", acts);
	if (!o)
		return bw_err_set(err, BW_ENOMEM, "report: building the JSON failed");
	if (json_dumpf(o, f, JSON_COMPACT | JSON_PRESERVE_ORDER) || fputc('\n', f) == EOF)
		rc = bw_err_set(err, BW_EIO, "report: writing the JSON failed");
	json_decref(o);
	return rc;
}

/* ---- PDF ---- */

struct pdf {
	cairo_t *cr;
	cairo_surface_t *sf;
	double y;
	int page, pages; /* pages: the total, 0 on the measuring pass */
};

static void
pdf_footer(struct pdf *p)
{
	char buf[64];

	if (p->pages)
		snprintf(buf, sizeof(buf), "page %d of %d", p->page, p->pages);
	else
		snprintf(buf, sizeof(buf), "page %d", p->page);
	render.cairo_set_source_rgb(p->cr, 0.4, 0.4, 0.4);
	text_at(p->cr, "Sans 8", buf, A4_W - MARGIN, A4_H - MARGIN + 18, 0, 1);
	text_at(p->cr, "Sans 8", "bulwark", MARGIN, A4_H - MARGIN + 18, 0, 0);
}

static void
pdf_need(struct pdf *p, double h)
{
	if (p->y + h <= A4_H - MARGIN)
		return;
	pdf_footer(p);
	render.cairo_show_page(p->cr);
	p->page++;
	p->y = MARGIN;
}

/* A paragraph of markup-free text in font, wrapped to the text width. */
static void
pdf_text(struct pdf *p, const char *font, const char *text, double gap_after)
{
	PangoLayout *l = new_layout(p->cr, font);
	int w, h;

	render.pango_layout_set_width(l, (int)((A4_W - 2 * MARGIN) * PANGO_SCALE));
	render.pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);
	render.pango_layout_set_text(l, text, -1);
	render.pango_layout_get_pixel_size(l, &w, &h);
	pdf_need(p, h);
	render.cairo_set_source_rgb(p->cr, 0.1, 0.1, 0.1);
	render.cairo_move_to(p->cr, MARGIN, p->y);
	render.pango_cairo_show_layout(p->cr, l);
	p->y += h + gap_after;
	render.g_object_unref(l);
}

static void
pdf_heading(struct pdf *p, const char *text)
{
	pdf_need(p, 60); /* keep a heading with what follows */
	p->y += 8;
	pdf_text(p, "Sans Bold 13", text, 6);
}

/* One table row: columns at fixed x offsets, each cut to its width. */
static void
pdf_row(struct pdf *p, const char *const *cols, const double *x, size_t n, int bold)
{
	pdf_need(p, 14);
	render.cairo_set_source_rgb(p->cr, 0.1, 0.1, 0.1);
	for (size_t i = 0; i < n; i++) {
		double w = (i + 1 < n ? x[i + 1] : A4_W - 2 * MARGIN) - x[i] - 6;

		text_at(p->cr, bold ? "Sans Bold 8" : "Sans 8", cols[i] ? cols[i] : "",
			MARGIN + x[i], p->y, w, 0);
	}
	p->y += 13;
}

static void
pdf_chart(struct pdf *p, const struct series *s)
{
	double h = chart_height(s);

	pdf_need(p, h + 10);
	draw_chart(p->cr, s, MARGIN, p->y, CHART_W, h);
	p->y += h + 10;
}

static void
pdf_items(struct pdf *p, const struct bw_report_item *it, size_t n)
{
	static const double x[] = {0, 180, 225, 255, 310};
	static const char *const head[] = {"Indicator", "Type", "Conf", "Added", "Why / tags"};
	char conf[16], t[32], why[600];

	pdf_row(p, head, x, 5, 1);
	for (size_t i = 0; i < n; i++) {
		const char *cols[5];

		snprintf(conf, sizeof(conf), "%d", it[i].confidence);
		bw_time_format(it[i].added, t);
		t[10] = '\0';
		snprintf(why, sizeof(why), "%s%s%s", it[i].why, it[i].tags && *it[i].tags ? "; " : "",
			 it[i].tags ? it[i].tags : "");
		cols[0] = it[i].value;
		cols[1] = bw_ioc_type_name(it[i].type);
		cols[2] = it[i].confidence >= 0 ? conf : "";
		cols[3] = t;
		cols[4] = why;
		pdf_row(p, cols, x, 5, 0);
	}
	if (n == 0)
		pdf_text(p, "Sans Italic 8", "None in this period.", 4);
	p->y += 6;
}

static void
pdf_counts(struct pdf *p, const struct bw_report_count *c, size_t n, const char *what)
{
	static const double x[] = {0, 330};
	const char *head[2] = {what, "Indicators"};
	char num[24];

	pdf_row(p, head, x, 2, 1);
	for (size_t i = 0; i < n && i < BW_REPORT_TOP; i++) {
		const char *cols[2] = {c[i].name, num};

		snprintf(num, sizeof(num), "%ld", c[i].count);
		pdf_row(p, cols, x, 2, 0);
	}
	if (n == 0)
		pdf_text(p, "Sans Italic 8", "None in this period.", 4);
	p->y += 6;
}

static void
pdf_body(struct pdf *p, const struct bw_report *r)
{
	static const double hx[] = {0, 330};
	struct charts ch = {0};
	long v[NHEADLINES];
	char buf[700], period[80], t[32], chg[64], num[24];

	charts_init(r, &ch);
	headline_values(r, v);
	period_text(r, period, sizeof(period));
	p->y = MARGIN;
	p->page = 1;
	snprintf(buf, sizeof(buf), "Threat report for %s (%s)", r->tenant_name, r->country);
	pdf_text(p, "Sans Bold 18", buf, 4);
	snprintf(buf, sizeof(buf), "Period %s; generated %s by bulwark. Only intelligence this "
		 "tenant may see under TLP is counted.", period, bw_time_format(r->generated, t));
	pdf_text(p, "Sans 9", buf, 10);

	pdf_heading(p, "Headline figures");
	for (size_t i = 0; i < NHEADLINES; i++) {
		const char *cols[2] = {headline_names[i], num};

		snprintf(num, sizeof(num), "%ld", v[i]);
		pdf_row(p, cols, hx, 2, 0);
	}
	pdf_heading(p, "What changed since the last report");
	change_text(r->new_indicators, r->prev_new_indicators, chg, sizeof(chg));
	snprintf(buf, sizeof(buf), "New threats in scope: %ld (%s; %ld the period before).",
		 r->new_indicators, chg, r->prev_new_indicators);
	pdf_text(p, "Sans 9", buf, 2);
	change_text(r->sightings, r->prev_sightings, chg, sizeof(chg));
	snprintf(buf, sizeof(buf), "Sightings in national networks: %ld (%s; %ld the period "
		 "before).", r->sightings, chg, r->prev_sightings);
	pdf_text(p, "Sans 9", buf, 6);

	pdf_heading(p, "Threats in scope");
	pdf_chart(p, &ch.types);
	pdf_chart(p, &ch.families);
	pdf_text(p, "Sans Bold 10", "Newest threats in scope", 4);
	pdf_items(p, r->top_new, r->ntop_new);

	pdf_heading(p, "Sightings in national networks");
	pdf_chart(p, &ch.daily);

	snprintf(buf, sizeof(buf), "Campaigns and actors active against %s", r->tenant_name);
	pdf_heading(p, buf);
	pdf_counts(p, r->campaigns, r->ncampaigns, "Campaign or report");
	pdf_counts(p, r->actors, r->nactors, "Actor");
	pdf_counts(p, r->families, r->nfamilies, "Malware family");

	pdf_heading(p, "Disruption actions");
	{
		static const double ax[] = {0, 40, 300, 360, 420};
		static const char *const head[] = {"Id", "Target", "Kind", "State", "Expires"};
		char id[24];

		pdf_row(p, head, ax, 5, 1);
		for (size_t i = 0; i < r->nactions; i++) {
			const char *cols[5] = {id, r->actions[i].target, r->actions[i].kind,
					       r->actions[i].state, t};

			snprintf(id, sizeof(id), "%lld", (long long)r->actions[i].id);
			bw_time_format(r->actions[i].expires, t);
			t[10] = '\0';
			pdf_row(p, cols, ax, 5, 0);
		}
		if (r->nactions == 0)
			pdf_text(p, "Sans Italic 8", "None in this period.", 4);
	}

	pdf_heading(p, "Foreign influence operations");
	snprintf(buf, sizeof(buf), "%ld lookalike domain(s) of this country's government and "
		 "media brands%s.", r->lookalikes_total,
		 (size_t)r->lookalikes_total > r->nlookalikes ? " (the first 500 listed)" : "");
	pdf_text(p, "Sans 9", buf, 4);
	pdf_items(p, r->lookalikes, r->nlookalikes);
	pdf_counts(p, r->lookalike_actors, r->nlookalike_actors, "Actor or family behind them");
	pdf_footer(p);
	render.cairo_show_page(p->cr);
}

static cairo_status_t
discard_write(void *closure, const unsigned char *data, unsigned int len)
{
	(void)closure;
	(void)data;
	(void)len;
	return CAIRO_STATUS_SUCCESS;
}

static cairo_status_t
file_write(void *closure, const unsigned char *data, unsigned int len)
{
	return fwrite(data, 1, len, closure) == len ? CAIRO_STATUS_SUCCESS
						    : CAIRO_STATUS_WRITE_ERROR;
}

static int
pdf_pass(const struct bw_report *r, cairo_write_func_t w, void *closure, int pages,
	 int *pages_out)
{
	struct pdf p = {.pages = pages};
	cairo_status_t s;

	p.sf = render.cairo_pdf_surface_create_for_stream(w, closure, A4_W, A4_H);
	render.cairo_pdf_surface_set_metadata(p.sf, CAIRO_PDF_METADATA_TITLE, "bulwark threat report");
	render.cairo_pdf_surface_set_metadata(p.sf, CAIRO_PDF_METADATA_CREATOR, "bulwark");
	p.cr = render.cairo_create(p.sf);
	pdf_body(&p, r);
	render.cairo_destroy(p.cr);
	render.cairo_surface_finish(p.sf);
	s = render.cairo_surface_status(p.sf);
	render.cairo_surface_destroy(p.sf);
	*pages_out = p.page;
	return s == CAIRO_STATUS_SUCCESS ? BW_OK : BW_EIO;
}

int
bw_report_write_pdf(const struct bw_report *r, FILE *out, struct bw_err *err)
{
	int pages = 0, again = 0, rc = bw_dynlib_ready(&render_lib, err);

	if (rc)
		return rc;
	if (pdf_pass(r, discard_write, NULL, 0, &pages) ||
	    pdf_pass(r, file_write, out, pages, &again))
		return bw_err_set(err, BW_EIO, "report: writing the PDF failed");
	return BW_OK;
}
