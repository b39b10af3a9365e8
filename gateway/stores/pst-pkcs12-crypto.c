/* pst-pkcs12-crypto.c: PKCS#12 PBES2 decryption and encryption, and the MAC key
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <gnutls/crypto.h>
#include <string.h>

#include "pst-der-writer.h"
#include "pst-stores-private.h"

/* ---- PBES2 decryption ---------------------------------------------------
 * gnutls_x509_privkey_import_pkcs8 decrypts and parses in one step, and
 * GnuTLS 3.7 cannot parse the EC keys keytool writes (no public point):
 * it then reports "Decryption has failed".  So PBES2 keys are decrypted
 * here and completed with the certificate's public point later. */

typedef struct {
  const guint8 *p;
  gsize         len;
} Der;

static gboolean
der_next (Der    *in,
          guint8  tag,
          Der    *out)
{
  gsize n, hl = 2;

  if (in->len < 2 || in->p[0] != tag)
    return FALSE;
  n = in->p[1];
  if (n & 0x80)
    {
      guint k = n & 0x7f;
      if (k == 0 || k > 4 || in->len < 2 + k)
        return FALSE;
      n = 0;
      for (guint i = 0; i < k; i++)
        n = (n << 8) | in->p[2 + i];
      hl += k;
    }
  if (n > in->len - hl)
    return FALSE;
  out->p = in->p + hl;
  out->len = n;
  in->p += hl + n;
  in->len -= hl + n;
  return TRUE;
}

static gboolean
der_oid_is (const Der    *oid,
            const guint8 *encoded)   /* with tag and length */
{
  return oid->len == encoded[1] && memcmp (oid->p, encoded + 2, oid->len) == 0;
}

static const guint8 OID_PBES2[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d };
static const guint8 OID_PBKDF2[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0c };
static const guint8 OID_HMAC_SHA256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x09 };
static const guint8 OID_AES256_CBC[] = { 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2a };

GBytes *
pst_pkcs12_pbes2_decrypt (const gnutls_datum_t *epki,
                          const char           *password)
{
  static const struct { guint8 last; gnutls_mac_algorithm_t mac; } prfs[] = {
    { 0x07, GNUTLS_MAC_SHA1 }, { 0x08, GNUTLS_MAC_SHA224 }, { 0x09, GNUTLS_MAC_SHA256 },
    { 0x0a, GNUTLS_MAC_SHA384 }, { 0x0b, GNUTLS_MAC_SHA512 },
  };
  static const guint8 hmac_prefix[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02 };
  static const guint8 aes_prefix[] = { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01 };
  static const guint8 des3[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x03, 0x07 };
  Der in = { epki->data, epki->size }, seq, alg, oid, params, kdf, kdf_params, salt, iter, enc, enc_oid, iv, data;
  gnutls_mac_algorithm_t mac = GNUTLS_MAC_SHA1;
  gnutls_cipher_algorithm_t cipher_alg;
  gsize key_len, iterations = 0;
  guint8 key[32];
  gnutls_cipher_hd_t cipher = NULL;
  guint8 *plain;
  guint pad;

  if (!der_next (&in, 0x30, &seq) || !der_next (&seq, 0x30, &alg) || !der_next (&alg, 0x06, &oid) ||
      !der_oid_is (&oid, OID_PBES2) || !der_next (&alg, 0x30, &params) ||
      !der_next (&params, 0x30, &kdf) || !der_next (&kdf, 0x06, &oid) || !der_oid_is (&oid, OID_PBKDF2) ||
      !der_next (&kdf, 0x30, &kdf_params) || !der_next (&kdf_params, 0x04, &salt) ||
      !der_next (&kdf_params, 0x02, &iter) || iter.len == 0 || iter.len > 4 ||
      !der_next (&params, 0x30, &enc) || !der_next (&enc, 0x06, &enc_oid) || !der_next (&enc, 0x04, &iv) ||
      !der_next (&seq, 0x04, &data))
    return NULL;
  for (gsize i = 0; i < iter.len; i++)
    iterations = (iterations << 8) | iter.p[i];
  {
    Der opt;
    if (kdf_params.len > 0 && kdf_params.p[0] == 0x02)
      der_next (&kdf_params, 0x02, &opt);   /* keyLength: implied by the cipher */
    if (kdf_params.len > 0 && der_next (&kdf_params, 0x30, &opt) && der_next (&opt, 0x06, &oid))
      {
        gboolean known = FALSE;
        for (guint i = 0; i < G_N_ELEMENTS (prfs); i++)
          if (oid.len == 8 && memcmp (oid.p, hmac_prefix, 7) == 0 && oid.p[7] == prfs[i].last)
            {
              mac = prfs[i].mac;
              known = TRUE;
            }
        if (!known)
          return NULL;
      }
  }
  if (enc_oid.len == 9 && memcmp (enc_oid.p, aes_prefix, 8) == 0 && enc_oid.p[8] == 0x02)
    cipher_alg = GNUTLS_CIPHER_AES_128_CBC, key_len = 16;
  else if (enc_oid.len == 9 && memcmp (enc_oid.p, aes_prefix, 8) == 0 && enc_oid.p[8] == 0x16)
    cipher_alg = GNUTLS_CIPHER_AES_192_CBC, key_len = 24;
  else if (enc_oid.len == 9 && memcmp (enc_oid.p, aes_prefix, 8) == 0 && enc_oid.p[8] == 0x2a)
    cipher_alg = GNUTLS_CIPHER_AES_256_CBC, key_len = 32;
  else if (enc_oid.len == 8 && memcmp (enc_oid.p, des3, 8) == 0)
    cipher_alg = GNUTLS_CIPHER_3DES_CBC, key_len = 24;
  else
    return NULL;
  if (iv.len != (gsize) gnutls_cipher_get_block_size (cipher_alg) || data.len == 0 ||
      data.len % iv.len != 0 || iterations == 0 || iterations > 10000000)
    return NULL;

  {
    gnutls_datum_t pw = { (unsigned char *) password, strlen (password) };
    gnutls_datum_t salt_d = { (unsigned char *) salt.p, salt.len };
    gnutls_datum_t key_d = { key, key_len };
    gnutls_datum_t iv_d = { (unsigned char *) iv.p, iv.len };

    if (gnutls_pbkdf2 (mac, &pw, &salt_d, iterations, key, key_len) < 0 ||
        gnutls_cipher_init (&cipher, cipher_alg, &key_d, &iv_d) < 0)
      {
        gnutls_memset (key, 0, sizeof key);
        return NULL;
      }
  }
  gnutls_memset (key, 0, sizeof key);
  plain = g_memdup2 (data.p, data.len);
  if (gnutls_cipher_decrypt (cipher, plain, data.len) < 0)
    pad = 0;
  else
    pad = plain[data.len - 1];
  gnutls_cipher_deinit (cipher);
  if (pad == 0 || pad > iv.len)
    {
      gnutls_memset (plain, 0, data.len);
      g_free (plain);
      return NULL;
    }
  for (guint i = 0; i < pad; i++)
    if (plain[data.len - 1 - i] != pad)
      {
        gnutls_memset (plain, 0, data.len);
        g_free (plain);
        return NULL;
      }
  return g_bytes_new_take (plain, data.len - pad);
}

/* ---- PBES2 encryption ------------------------------------------------- */

/* PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) as keytool 17 writes it.
 * Returns the AlgorithmIdentifier; data is padded and encrypted in place. */
GByteArray *
pst_pkcs12_pbes2_encrypt (GByteArray  *data,
                          const char  *password,
                          GError     **error)
{
  guint8 salt[16], iv[16], key[32];
  gnutls_datum_t pw = { (unsigned char *) password, strlen (password) };
  gnutls_datum_t salt_d = { salt, sizeof salt };
  gnutls_datum_t key_d = { key, sizeof key };
  gnutls_datum_t iv_d = { iv, sizeof iv };
  gnutls_cipher_hd_t cipher = NULL;
  guint8 pad = 16 - data->len % 16;
  int ret;

  for (guint i = 0; i < pad; i++)
    g_byte_array_append (data, &pad, 1);

  ret = gnutls_rnd (GNUTLS_RND_NONCE, salt, sizeof salt);
  if (ret >= 0)
    ret = gnutls_rnd (GNUTLS_RND_NONCE, iv, sizeof iv);
  if (ret >= 0)
    ret = gnutls_pbkdf2 (GNUTLS_MAC_SHA256, &pw, &salt_d, PST_PKCS12_ITERATIONS, key, sizeof key);
  if (ret >= 0)
    ret = gnutls_cipher_init (&cipher, GNUTLS_CIPHER_AES_256_CBC, &key_d, &iv_d);
  if (ret >= 0)
    {
      ret = gnutls_cipher_encrypt (cipher, data->data, data->len);
      gnutls_cipher_deinit (cipher);
    }
  gnutls_memset (key, 0, sizeof key);
  if (ret < 0)
    {
      g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CERTIFICATE,
                   _("Cannot encrypt the store (%s)"), gnutls_strerror (ret));
      return NULL;
    }

  return DER_SEQ (DER_OID (OID_PBES2),
                  DER_SEQ (DER_SEQ (DER_OID (OID_PBKDF2),
                                    DER_SEQ (pst_der_octets (salt, sizeof salt),
                                             pst_der_uint (PST_PKCS12_ITERATIONS),
                                             DER_SEQ (DER_OID (OID_HMAC_SHA256), pst_der_raw ("\x05\x00", 2)))),
                           DER_SEQ (DER_OID (OID_AES256_CBC), pst_der_octets (iv, sizeof iv))));
}

/* RFC 7292 appendix B.2 with SHA-256 (u = 32, v = 64), ID 3 (MAC key),
 * for a 32-byte key: one block A1 = H^iterations(D || S || P). */
void
pst_pkcs12_mac_key (const char   *password,
                    const guint8 *salt,
                    gsize         salt_len,
                    guint         iterations,
                    guint8        out[32])
{
  glong n = 0;
  g_autofree gunichar2 *utf16 = g_utf8_to_utf16 (password, -1, NULL, &n, NULL);
  gsize p_len = (n + 1) * 2;   /* BMPString with its two zero bytes */
  gsize s_fill = 64 * ((salt_len + 63) / 64);
  gsize p_fill = 64 * ((p_len + 63) / 64);
  g_autofree guint8 *bmp = g_malloc0 (p_len);
  g_autofree guint8 *input = g_malloc (64 + s_fill + p_fill);
  gnutls_hash_hd_t hash = NULL;

  for (glong i = 0; i < n; i++)
    {
      bmp[2 * i] = utf16[i] >> 8;
      bmp[2 * i + 1] = utf16[i] & 0xff;
    }
  memset (input, 3, 64);
  for (gsize i = 0; i < s_fill; i++)
    input[64 + i] = salt[i % salt_len];
  for (gsize i = 0; i < p_fill; i++)
    input[64 + s_fill + i] = bmp[i % p_len];

  gnutls_hash_fast (GNUTLS_DIG_SHA256, input, 64 + s_fill + p_fill, out);
  gnutls_hash_init (&hash, GNUTLS_DIG_SHA256);
  for (guint i = 1; i < iterations; i++)
    {
      gnutls_hash (hash, out, 32);
      gnutls_hash_output (hash, out);
    }
  gnutls_hash_deinit (hash, NULL);

  gnutls_memset (bmp, 0, p_len);
  gnutls_memset (input, 0, 64 + s_fill + p_fill);
  if (utf16 != NULL)
    gnutls_memset (utf16, 0, n * sizeof *utf16);
}
