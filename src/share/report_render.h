/*
 * report_render.h - a tenant report (report.h) as HTML, PDF or JSON.
 *
 * The HTML is one self-contained file: styles inline and the charts as PNG
 * data URIs, so it can be mailed or archived as it is.  The PDF is A4, laid
 * out with cairo and pango (DejaVu Sans or whatever fontconfig gives for
 * "Sans"), with "page N of M" on every page.  Charts are drawn by the same
 * cairo code for both, as vectors in the PDF.  JSON carries every figure
 * under the names of struct bw_report, for machines and for the tests.
 *
 * Every figure printed comes from the struct; the renderers compute
 * nothing but layout.
 */
#ifndef BW_SHARE_REPORT_RENDER_H
#define BW_SHARE_REPORT_RENDER_H

#include <stdio.h>

#include "core/err.h"
#include "share/report.h"

int bw_report_write_html(const struct bw_report *r, FILE *out, struct bw_err *err);
int bw_report_write_json(const struct bw_report *r, FILE *out, struct bw_err *err);
/* Writes the PDF to out (a file opened for writing in binary mode). */
int bw_report_write_pdf(const struct bw_report *r, FILE *out, struct bw_err *err);

#endif
