/* Writing one CSV field (RFC 4180) through libcsv. */
#ifndef GS_ANALYSIS_CSV_H
#define GS_ANALYSIS_CSV_H

#include <stdio.h>

/* Write s (NULL is the empty field) to f as one CSV field, without a
 * separator. It is quoted, with inner quotes doubled, only when it holds a
 * comma, a double quote, CR or LF, or begins or ends with a space or tab
 * (which readers may trim); otherwise it is written as is. GS_OK, or GS_EIO
 * when the stream reports an error. */
int gs_csv_write_field(FILE *f, const char *s);

#endif
