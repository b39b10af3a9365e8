/* pst-host-match.c: does a certificate name a host (RFC 6125 rules)
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "pst-stores-private.h"

/**
 * pst_crt_get_san:
 * @out: (out): the SAN's raw value; free out->data with g_free()
 *
 * Returns: the SAN type, or a negative GnuTLS error (no more SANs)
 */
int
pst_crt_get_san (gnutls_x509_crt_t  crt,
                 unsigned           seq,
                 gnutls_datum_t    *out)
{
  size_t size = 0;
  unsigned type = 0;
  int ret;

  out->data = NULL;
  out->size = 0;
  ret = gnutls_x509_crt_get_subject_alt_name2 (crt, seq, NULL, &size, &type, NULL);
  if (ret != GNUTLS_E_SHORT_MEMORY_BUFFER && ret < 0)
    return ret;
  out->data = g_malloc0 (size + 1);
  ret = gnutls_x509_crt_get_subject_alt_name2 (crt, seq, out->data, &size, &type, NULL);
  if (ret < 0)
    {
      g_clear_pointer (&out->data, g_free);
      return ret;
    }
  out->size = size;
  return (int) type;
}

/* Lower-cased, without a trailing dot or IPv6 brackets. */
static char *
normalize_host (const char *host)
{
  gsize len = strlen (host);

  if (len >= 2 && host[0] == '[' && host[len - 1] == ']')
    return g_ascii_strdown (host + 1, len - 2);
  if (len > 1 && host[len - 1] == '.')
    len--;
  return g_ascii_strdown (host, len);
}

/* pattern from the certificate, host normalized and not an IP address */
static PstHostMatch
match_dns (const char *pattern,
           gsize       pattern_len,
           const char *host)
{
  g_autofree char *p = NULL;
  gsize len;

  if (pattern_len == 0 || memchr (pattern, '\0', pattern_len) != NULL)
    return PST_HOST_MATCH_NONE;
  if (pattern[pattern_len - 1] == '.')
    pattern_len--;
  p = g_ascii_strdown (pattern, pattern_len);
  len = strlen (p);

  if (p[0] != '*')
    return strcmp (p, host) == 0 ? PST_HOST_MATCH_EXACT : PST_HOST_MATCH_NONE;

  /* Only a whole left-most label "*." is a wildcard, and what it stands
   * for must leave at least two labels ("*.com" names no one). */
  {
    const char *suffix = p + 1;           /* ".example.com" */
    const char *dot;
    gsize host_len = strlen (host);
    gsize suffix_len = len - 1;

    if (suffix[0] != '.' || strchr (suffix + 1, '.') == NULL || strchr (suffix, '*') != NULL)
      return PST_HOST_MATCH_NONE;
    if (host_len <= suffix_len || strcmp (host + host_len - suffix_len, suffix) != 0)
      return PST_HOST_MATCH_NONE;
    dot = strchr (host, '.');
    /* exactly one label in front of the suffix */
    if (dot == NULL || (gsize) (dot - host) != host_len - suffix_len)
      return PST_HOST_MATCH_NONE;
    return PST_HOST_MATCH_WILDCARD;
  }
}

/**
 * pst_host_match_crt:
 * @crt: a certificate
 * @host: a DNS name or an IP address (IPv6 with or without brackets)
 *
 * SAN dNSName entries (wildcard: one whole left-most label), SAN iPAddress
 * entries for address literals, and the subject CN only when the
 * certificate has no SAN at all.  Case-insensitive.
 *
 * Returns: how well it matches
 */
PstHostMatch
pst_host_match_crt (gnutls_x509_crt_t  crt,
                    const char        *host)
{
  g_autofree char *name = NULL;
  g_autoptr(GInetAddress) addr = NULL;
  PstHostMatch best = PST_HOST_MATCH_NONE;
  gboolean has_san = FALSE;
  char cn[256];
  size_t cn_size = sizeof cn;

  if (host == NULL || *host == '\0')
    return PST_HOST_MATCH_NONE;

  name = normalize_host (host);
  addr = g_inet_address_new_from_string (name);

  for (unsigned seq = 0; seq < 1024 && best != PST_HOST_MATCH_EXACT; seq++)
    {
      gnutls_datum_t san = { NULL, 0 };
      int type = pst_crt_get_san (crt, seq, &san);

      if (type < 0)
        break;
      has_san = TRUE;
      if (addr != NULL && type == GNUTLS_SAN_IPADDRESS &&
          san.size == g_inet_address_get_native_size (addr) &&
          memcmp (san.data, g_inet_address_to_bytes (addr), san.size) == 0)
        best = PST_HOST_MATCH_EXACT;
      else if (addr == NULL && type == GNUTLS_SAN_DNSNAME)
        best = MAX (best, match_dns ((const char *) san.data, san.size, name));
      g_free (san.data);
    }

  if (has_san)
    return best;

  if (gnutls_x509_crt_get_dn_by_oid (crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &cn_size) < 0 ||
      cn_size == 0)
    return PST_HOST_MATCH_NONE;
  if (addr != NULL)
    {
      g_autoptr(GInetAddress) cn_addr = g_inet_address_new_from_string (cn);
      return cn_addr != NULL && g_inet_address_equal (cn_addr, addr) ? PST_HOST_MATCH_EXACT : PST_HOST_MATCH_NONE;
    }
  return match_dns (cn, cn_size, name);
}
