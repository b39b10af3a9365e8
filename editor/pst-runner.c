/* pst-runner.c: `postern run` on a saved configuration, as a child process with its log
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n.h>
#include <signal.h>

#include "pst-runner.h"

struct _PstRunner
{
  GObject           parent_instance;

  GSubprocess      *process;
  GDataInputStream *output;
  GCancellable     *cancellable;   /* of the current process's reads and wait */
  char             *config_path;
  char             *exit_message;  /* the process ended; ::exited waits for its last lines */
  guint             flush_id;      /* bounds that wait */
  gboolean          output_done;
  gboolean          listening;
};

G_DEFINE_FINAL_TYPE (PstRunner, pst_runner, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_RUNNING,
  PROP_LISTENING,
  N_PROPS
};

enum {
  LINE,
  EXITED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

PstRunner *
pst_runner_new (void)
{
  return g_object_new (PST_TYPE_RUNNER, NULL);
}

char *
pst_runner_find_binary (void)
{
  const char *env = g_getenv ("POSTERN_BINARY");
  g_autofree char *built = NULL;

  if (env != NULL && *env != '\0')
    return g_strdup (env);
#ifdef PST_BUILD_DIR
  /* Running from the build tree: the gateway built with this editor. */
  built = g_build_filename (PST_BUILD_DIR, "gateway", "postern", NULL);
  if (g_file_test (built, G_FILE_TEST_IS_EXECUTABLE))
    return g_steal_pointer (&built);
#endif
  return g_find_program_in_path ("postern");
}

static void
set_listening (PstRunner *self,
               gboolean   listening)
{
  if (self->listening == listening)
    return;
  self->listening = listening;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LISTENING]);
}

/* ::exited comes after the process's last line: an error printed just
 * before it exits reads above "exited with status 1", not below it. */
static void
emit_exited (PstRunner *self)
{
  g_autofree char *message = g_steal_pointer (&self->exit_message);

  g_clear_handle_id (&self->flush_id, g_source_remove);
  if (message == NULL)
    return;
  set_listening (self, FALSE);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
  g_signal_emit (self, signals[EXITED], 0, message);
}

static gboolean
flush_timeout_cb (gpointer user_data)
{
  PstRunner *self = user_data;

  self->flush_id = 0;
  emit_exited (self);
  return G_SOURCE_REMOVE;
}

static void
read_line_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(PstRunner) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  gsize len = 0;

  line = g_data_input_stream_read_line_finish (G_DATA_INPUT_STREAM (source), result, &len, &error);
  if (line == NULL)
    {
      /* End of output, or the read was cancelled: either way nothing more
       * to show; a real read error is worth one line in the log. */
      if (error != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_signal_emit (self, signals[LINE], 0, error->message);
      if ((GInputStream *)source == (GInputStream *)self->output)
        {
          self->output_done = TRUE;
          emit_exited (self);
        }
      return;
    }
  if (!g_utf8_validate (line, len, NULL))
    {
      char *valid = g_utf8_make_valid (line, len);
      g_free (line);
      line = valid;
    }
  g_signal_emit (self, signals[LINE], 0, line);
  /* `postern run` prints one "listening on URL" line per accept URL once
   * it is bound: only then has the gateway started. */
  if ((GInputStream *)source == (GInputStream *)self->output && self->process != NULL &&
      g_str_has_prefix (line, "listening on "))
    set_listening (self, TRUE);
  /* (argument order is unspecified: take the fields before giving self away) */
  if ((GInputStream *)source == (GInputStream *)self->output)
    {
      GDataInputStream *output = self->output;
      GCancellable *cancellable = self->cancellable;

      g_data_input_stream_read_line_async (output, G_PRIORITY_DEFAULT, cancellable,
                                           read_line_cb, g_steal_pointer (&self));
    }
}

static void
wait_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(PstRunner) self = user_data;
  GSubprocess *process = G_SUBPROCESS (source);
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;

  if (!g_subprocess_wait_finish (process, result, &error))
    return;   /* cancelled: dispose, the process is not ours any more */
  if (process != self->process)
    return;

  if (g_subprocess_get_if_signaled (process))
    message = g_strdup_printf (_("The gateway was stopped by signal %d"),
                               g_subprocess_get_term_sig (process));
  else if (g_subprocess_get_exit_status (process) == 0)
    message = g_strdup (_("The gateway stopped"));
  else
    message = g_strdup_printf (_("The gateway exited with status %d; see the log above"),
                               g_subprocess_get_exit_status (process));

  g_clear_object (&self->process);
  g_free (self->exit_message);
  self->exit_message = g_steal_pointer (&message);
  if (self->output_done)
    emit_exited (self);
  else
    self->flush_id = g_timeout_add (1000, flush_timeout_cb, self);
}

gboolean
pst_runner_start (PstRunner   *self,
                  const char  *config_path,
                  GError     **error)
{
  g_autofree char *binary = NULL;
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) process = NULL;

  g_return_val_if_fail (PST_IS_RUNNER (self), FALSE);
  g_return_val_if_fail (config_path != NULL, FALSE);

  if (self->process != NULL || self->exit_message != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY, _("The gateway is already running"));
      return FALSE;
    }

  binary = pst_runner_find_binary ();
  if (binary == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   _("The postern command was not found; install Postern or add it to PATH"));
      return FALSE;
    }

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE);
  /* Relative store paths are resolved by postern itself; running in the
   * configuration's folder makes its messages read the same as in a shell. */
  {
    g_autofree char *folder = g_path_get_dirname (config_path);
    g_subprocess_launcher_set_cwd (launcher, folder);
  }
  process = g_subprocess_launcher_spawn (launcher, error, binary, "run", "--config", config_path, NULL);
  if (process == NULL)
    return FALSE;

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  g_clear_object (&self->output);
  self->output = g_data_input_stream_new (g_subprocess_get_stdout_pipe (process));
  g_data_input_stream_set_newline_type (self->output, G_DATA_STREAM_NEWLINE_TYPE_ANY);
  self->process = g_steal_pointer (&process);
  self->output_done = FALSE;
  g_free (self->config_path);
  self->config_path = g_strdup (config_path);

  g_data_input_stream_read_line_async (self->output, G_PRIORITY_DEFAULT, self->cancellable,
                                       read_line_cb, g_object_ref (self));
  g_subprocess_wait_async (self->process, self->cancellable, wait_cb, g_object_ref (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
  return TRUE;
}

void
pst_runner_stop (PstRunner *self)
{
  g_return_if_fail (PST_IS_RUNNER (self));

  if (self->process != NULL)
    g_subprocess_send_signal (self->process, SIGTERM);
}

gboolean
pst_runner_get_running (PstRunner *self)
{
  g_return_val_if_fail (PST_IS_RUNNER (self), FALSE);
  return self->process != NULL || self->exit_message != NULL;
}

gboolean
pst_runner_get_listening (PstRunner *self)
{
  g_return_val_if_fail (PST_IS_RUNNER (self), FALSE);
  return self->listening;
}

const char *
pst_runner_get_config_path (PstRunner *self)
{
  g_return_val_if_fail (PST_IS_RUNNER (self), NULL);
  return self->config_path;
}

void
pst_runner_shutdown (PstRunner *self)
{
  g_return_if_fail (PST_IS_RUNNER (self));

  /* The gateway does not outlive the window that started it; GSubprocess
   * still reaps it once it exited. */
  if (self->process != NULL)
    g_subprocess_send_signal (self->process, SIGTERM);
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->output);
  g_clear_handle_id (&self->flush_id, g_source_remove);
  g_clear_pointer (&self->exit_message, g_free);
  self->listening = FALSE;
  if (self->process != NULL)
    {
      g_clear_object (&self->process);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
    }
}

static void
pst_runner_dispose (GObject *object)
{
  PstRunner *self = PST_RUNNER (object);

  pst_runner_shutdown (self);
  g_clear_object (&self->cancellable);
  G_OBJECT_CLASS (pst_runner_parent_class)->dispose (object);
}

static void
pst_runner_finalize (GObject *object)
{
  PstRunner *self = PST_RUNNER (object);

  g_free (self->config_path);
  g_free (self->exit_message);
  G_OBJECT_CLASS (pst_runner_parent_class)->finalize (object);
}

static void
pst_runner_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  PstRunner *self = PST_RUNNER (object);

  switch (prop_id)
    {
    case PROP_RUNNING:
      g_value_set_boolean (value, pst_runner_get_running (self));
      break;
    case PROP_LISTENING:
      g_value_set_boolean (value, self->listening);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pst_runner_class_init (PstRunnerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pst_runner_dispose;
  object_class->finalize = pst_runner_finalize;
  object_class->get_property = pst_runner_get_property;

  properties[PROP_RUNNING] =
    g_param_spec_boolean ("running", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* The gateway printed its "listening on" lines: it has started. */
  properties[PROP_LISTENING] =
    g_param_spec_boolean ("listening", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* One line of the gateway's output (stdout and stderr, in order). */
  signals[LINE] =
    g_signal_new ("line", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  /* The process ended; the message says how, for the user. */
  signals[EXITED] =
    g_signal_new ("exited", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
pst_runner_init (PstRunner *self)
{
  self->cancellable = g_cancellable_new ();
}
