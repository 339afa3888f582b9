/* main.c — the deepnb command: run a kernel, install its kernelspec, say its version. */
#include "dn_config.h"
#include "install.h"
#include "kernel.h"
#include "magics.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: deepnb kernel -f CONNECTION_FILE [--resource-dir DIR]\n"
    "       deepnb install [--user | --prefix DIR | --sys-prefix] [--name NAME]\n"
    "                      [--display-name TEXT] [--interrupt-mode signal|message]\n"
    "       deepnb --version | --help\n"
    "\n"
    "  kernel    run a Jupyter kernel on the sockets named in CONNECTION_FILE\n"
    "            (Jupyter starts it this way; DEEPNB_LOG=debug|info|warn|error|off sets\n"
    "            how much it logs on stderr, default warn); --resource-dir is the\n"
    "            kernelspec's folder, whose LANGUAGE.md the Help menu links to\n"
    "  install   write the deepnb kernelspec (kernel.json pointing at this binary, logos)\n"
    "            into Jupyter's kernels folder: --user (default) ~/.local/share/jupyter,\n"
    "            --prefix DIR  DIR/share/jupyter, --sys-prefix  the active Python\n"
    "            environment's share/jupyter; --name sets the folder (default deepnb)\n";

static int bad_usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "deepnb: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(deepnb --help shows how to call it)\n");
    return 2;
}

/* The value of an option given as "--opt VALUE" or "--opt=VALUE"; advances *i. */
static const char *option_value(int argc, char **argv, int *i, const char *opt)
{
    size_t n = strlen(opt);
    if (strncmp(argv[*i], opt, n) == 0 && argv[*i][n] == '=') return argv[*i] + n + 1;
    if (strcmp(argv[*i], opt) != 0) return NULL;
    if (*i + 1 >= argc) return "";
    return argv[++*i];
}

static int cmd_kernel(int argc, char **argv)
{
    const char *file = NULL, *resources = NULL;
    for (int i = 2; i < argc; i++) {
        const char *v;
        if ((v = option_value(argc, argv, &i, "-f")) || (v = option_value(argc, argv, &i, "--connection-file"))) {
            if (!*v) return bad_usage("%s needs a connection file", argv[i]);
            file = v;
        } else if ((v = option_value(argc, argv, &i, "--resource-dir"))) {
            resources = v;   /* the kernelspec's folder, where LANGUAGE.md is */
        } else {
            return bad_usage("kernel: unknown argument %s", argv[i]);
        }
    }
    if (!file) return bad_usage("%s", "kernel needs -f CONNECTION_FILE");
    char err[512];
    dn_connection conn;
    if (dn_connection_load(file, &conn, err, sizeof err)) {
        fprintf(stderr, "deepnb: %s\n", err);
        return 1;
    }
    dn_interp *interp = dn_magics_new(err, sizeof err);
    char doc[PATH_MAX];
    if (interp && resources && *resources &&
        snprintf(doc, sizeof doc, "%s/LANGUAGE.md", resources) < (int)sizeof doc)
        dn_magics_set_language_doc(interp, doc);
    int rc = interp ? dn_kernel_serve(&conn, interp, err, sizeof err) : -1;
    if (rc) fprintf(stderr, "deepnb: %s\n", err);
    if (interp) interp->ops->free(interp);
    dn_connection_fini(&conn);
    return rc ? 1 : 0;
}

static int cmd_install(int argc, char **argv)
{
    dn_install_options o = { .where = DN_INSTALL_USER };
    int wheres = 0;
    for (int i = 2; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--user") == 0) { o.where = DN_INSTALL_USER; wheres++; }
        else if (strcmp(argv[i], "--sys-prefix") == 0) { o.where = DN_INSTALL_SYS_PREFIX; wheres++; }
        else if ((v = option_value(argc, argv, &i, "--prefix"))) {
            if (!*v) return bad_usage("%s", "--prefix needs a folder");
            o.where = DN_INSTALL_PREFIX;
            o.prefix = v;
            wheres++;
        } else if ((v = option_value(argc, argv, &i, "--name"))) {
            if (!dn_install_valid_name(v))
                return bad_usage("--name \"%s\": use ASCII letters, digits, '.', '_' and '-'", v);
            o.name = v;
        } else if ((v = option_value(argc, argv, &i, "--display-name"))) {
            if (!*v) return bad_usage("%s", "--display-name needs a text");
            o.display_name = v;
        } else if ((v = option_value(argc, argv, &i, "--interrupt-mode"))) {
            if (strcmp(v, "signal") != 0 && strcmp(v, "message") != 0)
                return bad_usage("--interrupt-mode \"%s\": use signal or message", v);
            o.interrupt_mode = v;
        } else {
            return bad_usage("install: unknown argument %s", argv[i]);
        }
    }
    if (wheres > 1) return bad_usage("%s", "install: give only one of --user, --prefix, --sys-prefix");
    char exe[PATH_MAX];
    if (!realpath("/proc/self/exe", exe)) {
        fprintf(stderr, "deepnb: cannot find the path of this program\n");
        return 1;
    }
    o.executable = exe;
    char dir[4400], err[512];
    if (dn_install_kernelspec(&o, dir, sizeof dir, err, sizeof err)) {
        fprintf(stderr, "deepnb: %s\n", err);
        return 1;
    }
    printf("Installed kernelspec %s in %s\n", o.name ? o.name : "deepnb", dir);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
        printf("deepnb %s\n", DN_VERSION);
        return 0;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(cmd, "kernel") == 0) return cmd_kernel(argc, argv);
    if (strcmp(cmd, "install") == 0) return cmd_install(argc, argv);
    return bad_usage("unknown command %s", cmd);
}
