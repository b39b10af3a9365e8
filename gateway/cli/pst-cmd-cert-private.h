/* pst-cmd-cert-private.h: helpers shared by the "postern cert" sub-commands
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>

#include "pst-cert-util.h"
#include "pst-keystore.h"
#include "pst-store-file.h"

G_BEGIN_DECLS

/* The library's PstStoreFile calls, with what the command tells the user
 * about them: the password file made, the store created, the password
 * file removed again after a failure, a password file others can read. */
/* --password-keyring → PST_STORE_OPEN_KEYRING */
#define PST_CERT_KEYRING(b) ((b) ? PST_STORE_OPEN_KEYRING : 0)
/* Also refuses --password-file with --password-keyring. */
gboolean  pst_cert_open_store     (PstStoreFile       *sf,
                                   const char         *path,
                                   const char         *password_file,
                                   PstStoreOpenFlags   flags,
                                   GError            **error);
gboolean  pst_cert_save_store     (PstStoreFile *sf,
                                   GError      **error);
void      pst_cert_abandon_store  (PstStoreFile *sf);
/* pst_store_file_add_trusted(), saying whether it was there already and
 * what is trusted now. */
gboolean  pst_cert_trust          (PstStoreFile *sf,
                                   GBytes       *der,
                                   const char   *alias,
                                   GError      **error);

/* Multi-line description: subject, issuer, SANs, validity, SHA-256 */
void      pst_cert_print_details    (PstStoreEntry *entry,
                                     const char    *indent);
/* Text from a certificate or a store for a terminal or a TSV cell: tab,
 * newline, CR as \t \n \r, other control characters and bytes that are
 * not UTF-8 as \xNN, so that no value can end a line or a cell.  For TSV
 * (PST_ESCAPE_BACKSLASH) a backslash is doubled, so that the escapes read
 * back unambiguously; PST_ESCAPE_COMMA writes ',' as \x2c (one name of a
 * comma-separated list). */
typedef enum {
  PST_ESCAPE_CONTROL   = 0,
  PST_ESCAPE_BACKSLASH = 1 << 0,
  PST_ESCAPE_COMMA     = 1 << 1,
} PstEscapeFlags;

void      pst_cert_append_escaped   (GString        *out,
                                     const char     *text,
                                     PstEscapeFlags  flags);
/* for a message or the text table: control characters only */
char     *pst_cert_escape           (const char *text);
/* Parses a GOptionContext for a sub-command; on error prints it with a hint */
gboolean  pst_cert_parse_options    (GOptionContext *context,
                                     int            *argc,
                                     char         ***argv);
void      pst_cert_print_error      (GError *error);

int  pst_cmd_cert_generate   (int argc, char **argv);
int  pst_cmd_cert_list       (int argc, char **argv);
int  pst_cmd_cert_export     (int argc, char **argv);
int  pst_cmd_cert_import     (int argc, char **argv);
int  pst_cmd_cert_fetch      (int argc, char **argv);
int  pst_cmd_cert_remove     (int argc, char **argv);
int  pst_cmd_cert_convert    (int argc, char **argv);
int  pst_cmd_cert_install_ca   (int argc, char **argv);
int  pst_cmd_cert_uninstall_ca (int argc, char **argv);
int  pst_cmd_cert_doctor       (int argc, char **argv);

G_END_DECLS
