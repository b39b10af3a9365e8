/* pst-jks-keys.c: decrypts JKS and JCEKS private keys and completes keytool's EC keys
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include "pst-jks.h"
#include "pst-jks-private.h"

gboolean
pst_jks_sha1 (const guint8 *pw, gsize pw_len, const void *a, gsize a_len,
              const void *b, gsize b_len, guint8 out[PST_JKS_DIGEST_LEN])
{
  gnutls_hash_hd_t hd;

  if (gnutls_hash_init (&hd, GNUTLS_DIG_SHA1) < 0)
    return FALSE;
  gnutls_hash (hd, pw, pw_len);
  if (a_len > 0)
    gnutls_hash (hd, a, a_len);
  if (b_len > 0)
    gnutls_hash (hd, b, b_len);
  gnutls_hash_deinit (hd, out);
  return TRUE;
}

/* Sun's JKS KeyProtector: salt ‖ XOR-with-SHA-1-keystream ‖ check */
GBytes *
pst_jks_decrypt_key (const guint8 *blob, gsize blob_len,
                     const guint8 *pw, gsize pw_len, gboolean *wrong_key_password)
{
  gsize plain_len;
  guint8 digest[PST_JKS_DIGEST_LEN], check[PST_JKS_DIGEST_LEN];
  g_autofree guint8 *plain = NULL;

  if (blob_len < 2 * PST_JKS_DIGEST_LEN + 1)
    return NULL;
  plain_len = blob_len - 2 * PST_JKS_DIGEST_LEN;
  plain = g_malloc (plain_len);

  memcpy (digest, blob, PST_JKS_DIGEST_LEN);     /* d0 = salt */
  for (gsize off = 0; off < plain_len; off += PST_JKS_DIGEST_LEN)
    {
      pst_jks_sha1 (pw, pw_len, digest, PST_JKS_DIGEST_LEN, NULL, 0, digest);
      for (gsize i = 0; i < PST_JKS_DIGEST_LEN && off + i < plain_len; i++)
        plain[off + i] = blob[PST_JKS_DIGEST_LEN + off + i] ^ digest[i];
    }
  pst_jks_sha1 (pw, pw_len, plain, plain_len, NULL, 0, check);
  if (memcmp (check, blob + blob_len - PST_JKS_DIGEST_LEN, PST_JKS_DIGEST_LEN) != 0)
    {
      memset (plain, 0, plain_len);
      *wrong_key_password = TRUE;
      return NULL;
    }
  return g_bytes_new_take (g_steal_pointer (&plain), plain_len);
}

/* Sun's PBEWithMD5AndTripleDES (com.sun.crypto.provider.PBES1Core) */
GBytes *
pst_jceks_decrypt_key (PstJksReader *params, const guint8 *ct, gsize ct_len,
                       const guint8 *pw16, gsize pw16_len, guint64 *budget,
                       gboolean *too_costly, gboolean *wrong_key_password)
{
  PstJksReader salt_r, iter_r;
  guint8 salt[8], derived[32], pw[256];
  gsize pw_len = pw16_len / 2;
  guint64 iterations = 0;
  gnutls_cipher_hd_t cipher;
  gnutls_datum_t key = { derived, 24 }, iv = { derived + 24, 8 };
  g_autofree guint8 *plain = NULL;
  guint pad;

  if (!pst_jks_der_read (params, 0x04, &salt_r) || salt_r.len != 8 ||
      !pst_jks_der_read (params, 0x02, &iter_r) || iter_r.len == 0 || iter_r.len > 4 ||
      (iter_r.data[0] & 0x80))
    return NULL;
  for (gsize i = 0; i < iter_r.len; i++)
    iterations = (iterations << 8) | iter_r.data[i];
  if (iterations == 0 || ct_len == 0 || ct_len % 8 != 0)
    return NULL;
  if (iterations > *budget)
    {
      *too_costly = TRUE;
      return NULL;
    }
  *budget -= iterations;
  /* PBEKey keeps the low byte of each char (keytool requires ASCII) */
  if (pw_len > sizeof pw)
    return NULL;
  for (gsize i = 0; i < pw_len; i++)
    pw[i] = pw16[2 * i + 1];

  memcpy (salt, salt_r.data, 8);
  if (memcmp (salt, salt + 4, 4) == 0)
    {
      /* Sun inverts the first half when both halves are equal */
      for (guint i = 0; i < 2; i++)
        {
          guint8 t = salt[i];
          salt[i] = salt[3 - i];
          salt[3 - i] = t;
        }
    }

  for (guint half = 0; half < 2; half++)
    {
      guint8 buf[16 + sizeof pw];
      gsize cur_len = 4;

      memcpy (buf, salt + 4 * half, 4);
      for (guint64 i = 0; i < iterations; i++)
        {
          memcpy (buf + cur_len, pw, pw_len);
          gnutls_hash_fast (GNUTLS_DIG_MD5, buf, cur_len + pw_len, buf);
          cur_len = 16;
        }
      memcpy (derived + 16 * half, buf, 16);
      memset (buf, 0, sizeof buf);
    }
  memset (pw, 0, sizeof pw);

  if (gnutls_cipher_init (&cipher, GNUTLS_CIPHER_3DES_CBC, &key, &iv) < 0)
    {
      memset (derived, 0, sizeof derived);
      return NULL;
    }
  plain = g_malloc (ct_len);
  gnutls_cipher_decrypt2 (cipher, ct, ct_len, plain, ct_len);
  gnutls_cipher_deinit (cipher);
  memset (derived, 0, sizeof derived);

  /* PKCS#5 padding; a wrong key almost never yields a valid one */
  pad = plain[ct_len - 1];
  if (pad == 0 || pad > 8)
    goto bad;
  for (guint i = 1; i <= pad; i++)
    if (plain[ct_len - i] != pad)
      goto bad;
  if (plain[0] != 0x30)
    goto bad;
  return g_bytes_new_take (g_steal_pointer (&plain), ct_len - pad);

bad:
  memset (plain, 0, ct_len);
  *wrong_key_password = TRUE;
  return NULL;
}

/* keytool writes EC keys as PKCS#8 whose inner ECPrivateKey has neither the
 * curve nor the public point; GnuTLS 3.7 refuses such keys (ASN1 element
 * not found).  Rebuild them with the public point from the certificate. */
GBytes *
pst_jks_complete_ec_key (GBytes *pkcs8, GBytes *certificate)
{
  gnutls_x509_privkey_t key = NULL;
  gnutls_x509_crt_t crt = NULL;
  gnutls_datum_t d, x = { NULL, 0 }, y = { NULL, 0 }, k, out = { NULL, 0 };
  gnutls_ecc_curve_t curve;
  PstJksReader r, info, alg, oid, octets, ec, priv;
  gsize len;
  GBytes *result = NULL;
  int ret;

  g_return_val_if_fail (pkcs8 != NULL, NULL);

  d.data = (guint8 *) g_bytes_get_data (pkcs8, &len);
  d.size = len;
  if (gnutls_x509_privkey_init (&key) < 0)
    return NULL;
  if (gnutls_x509_privkey_import_pkcs8 (key, &d, GNUTLS_X509_FMT_DER, NULL, GNUTLS_PKCS_PLAIN) == 0)
    {
      result = g_bytes_ref (pkcs8);
      goto out;
    }
  gnutls_x509_privkey_deinit (key);
  key = NULL;

  /* PrivateKeyInfo { version, AlgorithmIdentifier, OCTET STRING { ECPrivateKey } } */
  r.data = d.data;
  r.len = d.size;
  r.pos = 0;
  if (!pst_jks_der_read (&r, 0x30, &info) || !pst_jks_reader_bytes (&info, 3, NULL) ||
      !pst_jks_der_read (&info, 0x30, &alg) || !pst_jks_der_read (&alg, 0x06, &oid) ||
      oid.len != 7 || memcmp (oid.data, "\x2a\x86\x48\xce\x3d\x02\x01", 7) != 0 ||
      !pst_jks_der_read (&info, 0x04, &octets) || !pst_jks_der_read (&octets, 0x30, &ec) ||
      !pst_jks_reader_bytes (&ec, 3, NULL) || !pst_jks_der_read (&ec, 0x04, &priv) || priv.len == 0)
    goto out;
  if (certificate == NULL || gnutls_x509_crt_init (&crt) < 0)
    goto out;
  d.data = (guint8 *) g_bytes_get_data (certificate, &len);
  d.size = len;
  if (gnutls_x509_crt_import (crt, &d, GNUTLS_X509_FMT_DER) < 0 ||
      gnutls_x509_crt_get_pk_ecc_raw (crt, &curve, &x, &y) < 0)
    goto out;

  k.data = (guint8 *) priv.data;
  k.size = priv.len;
  if (gnutls_x509_privkey_init (&key) < 0)
    goto out;
  ret = gnutls_x509_privkey_import_ecc_raw (key, curve, &x, &y, &k);
  if (ret < 0 || gnutls_x509_privkey_verify_params (key) < 0 ||
      gnutls_x509_privkey_export2_pkcs8 (key, GNUTLS_X509_FMT_DER, NULL, GNUTLS_PKCS_PLAIN, &out) < 0)
    goto out;
  result = g_bytes_new (out.data, out.size);

out:
  if (out.data != NULL)
    {
      memset (out.data, 0, out.size);
      gnutls_free (out.data);
    }
  gnutls_free (x.data);
  gnutls_free (y.data);
  if (crt != NULL)
    gnutls_x509_crt_deinit (crt);
  if (key != NULL)
    gnutls_x509_privkey_deinit (key);
  return result;
}
