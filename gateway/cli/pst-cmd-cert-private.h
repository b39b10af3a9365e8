/* pst-cmd-cert-private.h: helpers shared by the "postern cert" sub-commands
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>

#include "pst-keystore.h"

G_BEGIN_DECLS

/* A store opened (or about to be created) by a command, with the password
 * that opened it so that the command can save it again. */
typedef struct {
  char        *path;
  char        *password_file;   /* where the password came from; NULL = keytool's default */
  char        *password;        /* never printed */
  PstKeystore *store;
  gboolean     created;         /* the store file did not exist yet */
  gboolean     password_created; /* this command made password_file */
  gboolean     saved;
} PstCertStore;

typedef enum {
  PST_CERT_OPEN_READ   = 0,
  PST_CERT_OPEN_WRITE  = 1 << 0,   /* refuse JKS/JCEKS, which Postern cannot write */
  PST_CERT_OPEN_CREATE = 1 << 1,   /* a missing store is made, with a random password file */
} PstCertOpenFlags;

gboolean  pst_cert_store_open   (PstCertStore     *cs,
                                 const char       *path,
                                 const char       *password_file,
                                 PstCertOpenFlags  flags,
                                 GError          **error);
gboolean  pst_cert_store_save   (PstCertStore *cs,
                                 GError      **error);
void      pst_cert_store_clear  (PstCertStore *cs);
/* After a failure: removes the password file this command made for a
 * store it never wrote, so a refused command leaves nothing behind. */
void      pst_cert_store_abandon (PstCertStore *cs);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (PstCertStore, pst_cert_store_clear)

/* Reads password_file, or creates it with a random password (0600) when it
 * does not exist; *created tells which. */
char     *pst_cert_password_read_or_create (const char *password_file,
                                            gboolean   *created,
                                            GError    **error);

/* Adds der to the store as a trusted entry and saves it; says so when
 * it is there already; refuses to replace a different certificate. */
gboolean  pst_cert_add_trusted (PstCertStore *cs,
                                GBytes       *der,
                                const char   *alias,
                                GError      **error);

/* "2026-03-01 (expires in 92 days)" / "2020-01-01 (EXPIRED)" */
char     *pst_cert_format_validity  (GDateTime *not_after);
/* Multi-line description: subject, issuer, SANs, validity, SHA-256 */
void      pst_cert_print_details    (PstStoreEntry *entry,
                                     const char    *indent);
/* PEM text of a DER certificate */
char     *pst_cert_der_to_pem       (GBytes *der);
/* The CN of the subject, or NULL */
char     *pst_cert_dup_common_name  (GBytes *der);
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

G_END_DECLS
