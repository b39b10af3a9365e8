/* fuzz-config.c: gateway-config.xml parsed and validated from memory, properties included
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "fuzz-target.h"
#include "pst-config.h"

/* The file "lives" in a folder that does not exist, so every relative
 * store or directory path resolves to nothing: no file is read that the
 * input did not name, and none is written. */
#define PATH "/nonexistent/postern-fuzz/gateway-config.xml"

/* <password-keyring>true</…> on a store that exists makes check ask the
 * desktop keyring over D-Bus.  Without a session bus (no address, no
 * $XDG_RUNTIME_DIR/bus, no X11 to autolaunch one) that fails at once, the
 * same way for every run, and never reaches the user's keyring. */
int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_unsetenv ("DBUS_SESSION_BUS_ADDRESS");
  g_unsetenv ("DISPLAY");
  g_unsetenv ("WAYLAND_DISPLAY");
  g_setenv ("XDG_RUNTIME_DIR", "/nonexistent/postern-fuzz", TRUE);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PstConfig) config = NULL;
  g_autoptr(GPtrArray) diagnostics = NULL;
  g_autofree char *xml = NULL;
  g_auto(GStrv) names = NULL;
  gsize xml_len = 0;

  config = pst_config_new_from_data ((const char *) data, size, PATH, &error);
  if (config == NULL)
    {
      FUZZ_CHECK (error != NULL && error->domain == PST_CONFIG_ERROR);
      FUZZ_CHECK (error->message != NULL && *error->message != '\0');
      return 0;
    }
  FUZZ_CHECK (error == NULL);

  diagnostics = pst_config_validate (config);
  FUZZ_CHECK (diagnostics != NULL);
  for (guint i = 0; i < diagnostics->len; i++)
    {
      PstDiagnostic *d = diagnostics->pdata[i];
      g_autofree char *line = pst_diagnostic_to_string (d);

      FUZZ_CHECK (pst_diagnostic_get_message (d) != NULL && line != NULL);
    }

  names = pst_config_dup_property_names (config);
  for (guint i = 0; names != NULL && names[i] != NULL; i++)
    {
      pst_config_get_property (config, names[i]);
      pst_config_get_property_raw (config, names[i]);
    }
  for (guint i = 0; i < pst_config_get_n_services (config); i++)
    FUZZ_CHECK (pst_config_get_service (config, i) != NULL);

  /* What was read must serialise, and what is serialised must read back. */
  xml = pst_config_to_xml (config, &xml_len);
  FUZZ_CHECK (xml != NULL);
  {
    g_autoptr(GError) again_error = NULL;
    g_autoptr(PstConfig) again = pst_config_new_from_data (xml, xml_len, PATH, &again_error);

    if (again == NULL)
      fprintf (stderr, "serialised config does not read back: %s\n", again_error->message);
    FUZZ_CHECK (again != NULL);
    FUZZ_CHECK (pst_config_get_n_services (again) == pst_config_get_n_services (config));
  }
  return 0;
}
