/* test-control-channel.c: PstControlChannel: lines split at every boundary, overlong lines, a real socket pair
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <unistd.h>
#include <gio/gio.h>

#include "pst-control-channel.h"

typedef struct {
  GPtrArray *lines;   /* "(eof)" for the NULL call */
} Seen;

static void
line_cb (const char *line, gpointer user_data)
{
  Seen *seen = user_data;

  g_ptr_array_add (seen->lines, g_strdup (line ? line : "(eof)"));
}

static char *
joined (Seen *seen)
{
  g_ptr_array_add (seen->lines, NULL);
  {
    char *text = g_strjoinv ("|", (char **) seen->lines->pdata);

    g_ptr_array_remove_index (seen->lines, seen->lines->len - 1);
    return text;
  }
}

/* What the master and the worker send, cut in two at every byte, then in
 * one-byte pieces: the same lines come out. */
static void
test_every_boundary (void)
{
  static const char input[] = "ready\ndrain\nreload-failed gateway-config.xml:3:1: error: x\n\nretire\npartial";
  static const char expected[] = "ready|drain|reload-failed gateway-config.xml:3:1: error: x||retire";
  gsize len = strlen (input);

  for (gsize cut = 0; cut <= len; cut++)
    {
      Seen seen = { g_ptr_array_new_with_free_func (g_free) };
      g_autoptr(PstControlChannel) channel = pst_control_channel_new (-1, 1024, line_cb, &seen, NULL);
      g_autofree char *text = NULL;

      pst_control_channel_feed (channel, input, cut);
      pst_control_channel_feed (channel, input + cut, len - cut);
      text = joined (&seen);
      g_assert_cmpstr (text, ==, expected);
      g_ptr_array_unref (seen.lines);
    }
  {
    Seen seen = { g_ptr_array_new_with_free_func (g_free) };
    g_autoptr(PstControlChannel) channel = pst_control_channel_new (-1, 1024, line_cb, &seen, NULL);
    g_autofree char *text = NULL;

    for (gsize i = 0; i < len; i++)
      pst_control_channel_feed (channel, input + i, 1);
    text = joined (&seen);
    g_assert_cmpstr (text, ==, expected);
    g_ptr_array_unref (seen.lines);
  }
}

/* A line longer than the limit is dropped whole, however it arrives; the
 * next line is read as usual. */
static void
test_overlong (void)
{
  g_autofree char *big = g_strnfill (100, 'x');
  g_autofree char *input = g_strdup_printf ("ok1\n%s\nok2\n%s", big, big);
  gsize len = strlen (input);

  for (gsize cut = 0; cut <= len; cut++)
    {
      Seen seen = { g_ptr_array_new_with_free_func (g_free) };
      g_autoptr(PstControlChannel) channel = pst_control_channel_new (-1, 16, line_cb, &seen, NULL);
      g_autofree char *text = NULL;

      pst_control_channel_feed (channel, input, cut);
      pst_control_channel_feed (channel, input + cut, len - cut);
      pst_control_channel_feed (channel, "\nok3\n", 5);
      text = joined (&seen);
      g_assert_cmpstr (text, ==, "ok1|ok2|ok3");
      g_ptr_array_unref (seen.lines);
    }
}

typedef struct {
  Seen       seen;
  GMainLoop *loop;
} Pair;

static void
pair_line_cb (const char *line, gpointer user_data)
{
  Pair *pair = user_data;

  line_cb (line, &pair->seen);
  if (line == NULL)
    g_main_loop_quit (pair->loop);
}

static gboolean
too_long_cb (gpointer user_data)
{
  g_assert_not_reached ();
  return G_SOURCE_REMOVE;
}

/* Both ends over a real socket pair: lines one way, then the end of the
 * peer reported once. */
static void
test_socket_pair (void)
{
  g_autoptr(GError) error = NULL;
  Pair pair = { { g_ptr_array_new_with_free_func (g_free) }, g_main_loop_new (NULL, FALSE) };
  PstControlChannel *master, *worker;
  int ours = -1, theirs = -1;
  g_autofree char *text = NULL;
  guint guard;

  g_assert_true (pst_control_channel_make_pair (&ours, &theirs, &error));
  g_assert_no_error (error);
  master = pst_control_channel_new (ours, 1024, pair_line_cb, &pair, &error);
  g_assert_no_error (error);
  worker = pst_control_channel_new (theirs, 1024, line_cb, &pair.seen, &error);
  g_assert_no_error (error);
  g_assert_true (pst_control_channel_send (worker, "ready"));
  g_assert_true (pst_control_channel_send (worker, "second"));
  pst_control_channel_free (worker);   /* closes its end: EOF for the master */
  guard = g_timeout_add_seconds (10, too_long_cb, NULL);
  g_main_loop_run (pair.loop);
  g_source_remove (guard);
  text = joined (&pair.seen);
  g_assert_cmpstr (text, ==, "ready|second|(eof)");
  /* to a closed peer: refused, not a SIGPIPE */
  g_assert_false (pst_control_channel_send (master, "drain"));
  pst_control_channel_free (master);
  g_ptr_array_unref (pair.seen.lines);
  g_main_loop_unref (pair.loop);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/control-channel/every-boundary", test_every_boundary);
  g_test_add_func ("/control-channel/overlong", test_overlong);
  g_test_add_func ("/control-channel/socket-pair", test_socket_pair);
  return g_test_run ();
}
