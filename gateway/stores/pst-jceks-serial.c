/* pst-jceks-serial.c: walks the Java serialization of JCEKS secret-key entries to skip them
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "pst-jks-private.h"

/* Skipping a JCEKS secret-key entry: keytool writes it as a Java-serialized
 * SealedObject with no length in front, so its end can only be found by
 * walking the serialization grammar.  This walker knows just enough of it
 * (class descriptors, objects, arrays, strings, references) and keeps a
 * handle table because later fields refer back to earlier descriptors. */
enum {
  TC_NULL = 0x70, TC_REFERENCE, TC_CLASSDESC, TC_OBJECT, TC_STRING, TC_ARRAY,
  TC_CLASS, TC_BLOCKDATA, TC_ENDBLOCKDATA, TC_RESET, TC_BLOCKDATALONG,
  TC_EXCEPTION, TC_LONGSTRING, TC_PROXYCLASSDESC, TC_ENUM,
};
#define SER_BASE_HANDLE 0x7E0000u
#define SER_MAX_DEPTH   32
#define SER_MAX_HANDLES 4096

typedef struct {
  gboolean  is_class;
  guint     flags;
  GString  *field_types;    /* one type code per field */
  char     *array_type;     /* the class name, for array descriptors ("[B") */
  gint      super;          /* handle index or -1 */
} SerHandle;

typedef struct {
  PstJksReader *r;
  GArray       *handles;    /* SerHandle */
} Ser;

static void
ser_handle_clear (gpointer data)
{
  SerHandle *h = data;

  if (h->field_types != NULL)
    g_string_free (h->field_types, TRUE);
  g_free (h->array_type);
}

static gint
ser_new_handle (Ser *s, gboolean is_class)
{
  SerHandle h = { is_class, 0, NULL, NULL, -1 };

  if (s->handles->len >= SER_MAX_HANDLES)
    return -1;
  g_array_append_val (s->handles, h);
  return s->handles->len - 1;
}

static gboolean ser_content (Ser *s, guint depth, gint *handle_out);

static gboolean
ser_utf (Ser *s, char **out)
{
  guint len;
  const guint8 *p;

  if (!pst_jks_reader_u16 (s->r, &len) || !pst_jks_reader_bytes (s->r, len, &p))
    return FALSE;
  if (out != NULL)
    *out = g_strndup ((const char *) p, len);
  return TRUE;
}

/* Reads TC_CLASSDESC / TC_NULL / TC_REFERENCE; *out = handle index or -1 */
static gboolean
ser_class_desc (Ser *s, guint depth, gint *out)
{
  guint tc;

  if (depth > SER_MAX_DEPTH || !pst_jks_reader_u8 (s->r, &tc))
    return FALSE;

  if (tc == TC_NULL)
    {
      *out = -1;
      return TRUE;
    }
  if (tc == TC_REFERENCE)
    {
      guint32 ref;

      if (!pst_jks_reader_u32 (s->r, &ref) || ref < SER_BASE_HANDLE ||
          ref - SER_BASE_HANDLE >= s->handles->len ||
          !g_array_index (s->handles, SerHandle, ref - SER_BASE_HANDLE).is_class)
        return FALSE;
      *out = ref - SER_BASE_HANDLE;
      return TRUE;
    }
  if (tc == TC_CLASSDESC)
    {
      g_autofree char *name = NULL;
      guint flags, n_fields;
      gint handle, super;
      g_autoptr(GString) types = g_string_new (NULL);

      if (!ser_utf (s, &name) || !pst_jks_reader_bytes (s->r, 8, NULL))
        return FALSE;
      if ((handle = ser_new_handle (s, TRUE)) < 0)
        return FALSE;
      if (!pst_jks_reader_u8 (s->r, &flags) || !pst_jks_reader_u16 (s->r, &n_fields))
        return FALSE;
      for (guint i = 0; i < n_fields; i++)
        {
          guint type;

          if (!pst_jks_reader_u8 (s->r, &type) || !ser_utf (s, NULL))
            return FALSE;
          if (type == '[' || type == 'L')
            {
              gint ignored;

              if (!ser_content (s, depth + 1, &ignored))   /* the field's class name */
                return FALSE;
            }
          else if (strchr ("BCDFIJSZ", type) == NULL || type == 0)
            return FALSE;
          g_string_append_c (types, (char) type);
        }
      /* class annotation: contents up to TC_ENDBLOCKDATA */
      for (;;)
        {
          guint next;
          gint ignored;

          if (s->r->pos >= s->r->len)
            return FALSE;
          next = s->r->data[s->r->pos];
          if (next == TC_ENDBLOCKDATA)
            {
              s->r->pos++;
              break;
            }
          if (!ser_content (s, depth + 1, &ignored))
            return FALSE;
        }
      if (!ser_class_desc (s, depth + 1, &super))
        return FALSE;

      {
        SerHandle *h = &g_array_index (s->handles, SerHandle, handle);

        h->flags = flags;
        h->field_types = g_steal_pointer (&types);
        h->super = super;
        if (name[0] == '[')
          h->array_type = g_steal_pointer (&name);
      }
      *out = handle;
      return TRUE;
    }
  return FALSE;
}

static gboolean
ser_value (Ser *s, guint type, guint depth)
{
  gint ignored;

  switch (type)
    {
    case 'B': case 'Z': return pst_jks_reader_bytes (s->r, 1, NULL);
    case 'C': case 'S': return pst_jks_reader_bytes (s->r, 2, NULL);
    case 'F': case 'I': return pst_jks_reader_bytes (s->r, 4, NULL);
    case 'D': case 'J': return pst_jks_reader_bytes (s->r, 8, NULL);
    case 'L': case '[': return ser_content (s, depth + 1, &ignored);
    default: return FALSE;
    }
}

static gboolean
ser_annotation (Ser *s, guint depth)
{
  for (;;)
    {
      gint ignored;

      if (s->r->pos >= s->r->len)
        return FALSE;
      if (s->r->data[s->r->pos] == TC_ENDBLOCKDATA)
        {
          s->r->pos++;
          return TRUE;
        }
      if (!ser_content (s, depth + 1, &ignored))
        return FALSE;
    }
}

static gboolean
ser_class_data (Ser *s, gint desc, guint depth)
{
  SerHandle h;

  if (desc < 0)
    return TRUE;
  if (depth > SER_MAX_DEPTH)
    return FALSE;
  h = g_array_index (s->handles, SerHandle, desc);
  /* superclass data comes first */
  if (!ser_class_data (s, h.super, depth + 1))
    return FALSE;
  h = g_array_index (s->handles, SerHandle, desc);   /* the array may have moved */

  if (h.flags & 0x04)                 /* SC_EXTERNALIZABLE */
    {
      if (!(h.flags & 0x08))          /* old protocol: length unknown */
        return FALSE;
      return ser_annotation (s, depth);
    }
  if (h.field_types != NULL)
    {
      g_autofree char *types = g_strdup (h.field_types->str);

      for (const char *t = types; *t != '\0'; t++)
        if (!ser_value (s, (guchar) *t, depth))
          return FALSE;
    }
  if (h.flags & 0x01)                 /* SC_WRITE_METHOD */
    return ser_annotation (s, depth);
  return TRUE;
}

static gboolean
ser_content (Ser *s, guint depth, gint *handle_out)
{
  guint tc;
  guint64 len;
  gint desc;

  *handle_out = -1;
  if (depth > SER_MAX_DEPTH || s->r->pos >= s->r->len)
    return FALSE;
  tc = s->r->data[s->r->pos];

  switch (tc)
    {
    case TC_REFERENCE:
      {
        guint32 ref;

        s->r->pos++;
        if (!pst_jks_reader_u32 (s->r, &ref) || ref < SER_BASE_HANDLE ||
            ref - SER_BASE_HANDLE >= s->handles->len)
          return FALSE;
        *handle_out = ref - SER_BASE_HANDLE;
        return TRUE;
      }
    case TC_NULL:
    case TC_CLASSDESC:
      return ser_class_desc (s, depth, handle_out);
    case TC_STRING:
    case TC_LONGSTRING:
      s->r->pos++;
      if (!pst_jks_reader_uint (s->r, tc == TC_STRING ? 2 : 8, &len) ||
          len > s->r->len || !pst_jks_reader_bytes (s->r, len, NULL))
        return FALSE;
      return (*handle_out = ser_new_handle (s, FALSE)) >= 0;
    case TC_BLOCKDATA:
    case TC_BLOCKDATALONG:
      s->r->pos++;
      return pst_jks_reader_uint (s->r, tc == TC_BLOCKDATA ? 1 : 4, &len) &&
             pst_jks_reader_bytes (s->r, len, NULL);
    case TC_CLASS:
      s->r->pos++;
      return ser_class_desc (s, depth + 1, &desc) &&
             (*handle_out = ser_new_handle (s, FALSE)) >= 0;
    case TC_OBJECT:
      s->r->pos++;
      if (!ser_class_desc (s, depth + 1, &desc) || desc < 0)
        return FALSE;
      if ((*handle_out = ser_new_handle (s, FALSE)) < 0)
        return FALSE;
      return ser_class_data (s, desc, depth + 1);
    case TC_ENUM:
      s->r->pos++;
      if (!ser_class_desc (s, depth + 1, &desc) ||
          (*handle_out = ser_new_handle (s, FALSE)) < 0)
        return FALSE;
      return ser_content (s, depth + 1, &desc);
    case TC_ARRAY:
      {
        guint32 size;
        const char *type;
        guint elem;

        s->r->pos++;
        if (!ser_class_desc (s, depth + 1, &desc) || desc < 0)
          return FALSE;
        type = g_array_index (s->handles, SerHandle, desc).array_type;
        if (type == NULL || type[1] == '\0')
          return FALSE;
        elem = (guchar) type[1];
        if ((*handle_out = ser_new_handle (s, FALSE)) < 0 || !pst_jks_reader_u32 (s->r, &size))
          return FALSE;
        switch (elem)
          {
          case 'B': case 'Z': return pst_jks_reader_bytes (s->r, size, NULL);
          case 'C': case 'S': return size <= G_MAXUINT32 / 2 && pst_jks_reader_bytes (s->r, (gsize) size * 2, NULL);
          case 'F': case 'I': return size <= G_MAXUINT32 / 4 && pst_jks_reader_bytes (s->r, (gsize) size * 4, NULL);
          case 'D': case 'J': return size <= G_MAXUINT32 / 8 && pst_jks_reader_bytes (s->r, (gsize) size * 8, NULL);
          default:
            /* each element is at least one byte: refuse absurd counts early */
            if (size > s->r->len - s->r->pos)
              return FALSE;
            for (guint32 i = 0; i < size; i++)
              if (!ser_value (s, elem, depth))
                return FALSE;
            return TRUE;
          }
      }
    default:
      return FALSE;
    }
}

/* One ObjectOutputStream as keytool writes it: magic, version, one object */
gboolean
pst_jceks_skip_serialized_object (PstJksReader *r)
{
  const guint8 *magic;
  Ser s = { r, g_array_new (FALSE, TRUE, sizeof (SerHandle)) };
  gint handle;
  gboolean ok;

  g_array_set_clear_func (s.handles, ser_handle_clear);
  ok = pst_jks_reader_bytes (r, 4, &magic) &&
       magic[0] == 0xAC && magic[1] == 0xED && magic[2] == 0x00 && magic[3] == 0x05 &&
       ser_content (&s, 0, &handle);
  g_array_unref (s.handles);
  return ok;
}
