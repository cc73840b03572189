/*
 * Scenario files (src/run/scenario.c) without a VM: every field read,
 * templates expanded per node, and each mistake refused with a message
 * that names its field.  That a scenario runs as its flags do is
 * tests/linux/test_cluster.c's a_scenario_file_is_the_run_its_flags_make.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "run/scenario.h"

static const char *parse(struct cc_scenario *sc, const char *text)
{
	static struct cc_err err;
	err.msg[0] = 0;
	if (cc_scenario_parse(sc, text, strlen(text), "/scen", &err) == 0)
		return "";
	return err.msg;
}

Test(scenario, every_field_is_read)
{
	struct cc_scenario sc;
	cr_assert_str_eq(
		parse(&sc, "{\"version\": 1, \"nodes\": 3, \"seed\": 7, "
			   "\"ticks\": 900, \"random_faults\": 250, "
			   "\"gate\": \"vm\", \"threads\": 2, \"memory\": "
			   "\"512M\", \"disk\": \"d.img\", \"image\": "
			   "\"/abs/i.cpio\", \"program\": \"/bin/kvstore\", "
			   "\"args\": [\"{n}\"], \"schedule\": \"f.json\"}"),
		"");
	cr_assert_eq(sc.nodes, 3);
	cr_assert(!sc.node_list);
	cr_assert(sc.has_seed && sc.seed == 7);
	cr_assert(sc.has_ticks && sc.ticks == 900);
	cr_assert(sc.has_random && sc.random_ppm == 250);
	cr_assert(sc.has_gate && sc.gate == CC_GATE_PER_VM);
	cr_assert(sc.has_threads && sc.threads == 2);
	cr_assert_eq(cc_scenario_mem(&sc, 1), 512ull << 20);
	cr_assert_str_eq(sc.disk, "/scen/d.img", "relative to the file");
	cr_assert_str_eq(cc_scenario_image(&sc, 2), "/abs/i.cpio");
	cr_assert_str_eq(sc.schedule_path, "/scen/f.json");
	cr_assert_null(sc.schedule_json);
	cc_scenario_free(&sc);
	cr_assert_str_eq(parse(&sc, "{\"version\": 1, \"data_disk\": "
				    "\"data.img\"}"),
			 "");
	cr_assert_str_eq(sc.data_disk, "/scen/data.img");
	cr_assert_null(sc.disk);
	cc_scenario_free(&sc);
	cr_assert_str_eq(parse(&sc, "{\"version\": 1, \"data_disk\": "
				    "{\"size\": \"64M\"}}"),
			 "");
	cr_assert_eq(sc.data_disk_bytes, 64 << 20, "a blank disk");
	cr_assert_null(sc.data_disk);
	cc_scenario_free(&sc);
}

Test(scenario, templates_expand_per_node)
{
	struct cc_scenario sc;
	cr_assert_str_eq(
		parse(&sc, "{\"version\": 1, \"nodes\": [{}, {\"program\": "
			   "\"/bin/other\", \"args\": [\"--id={node}\"], "
			   "\"memory\": 128}, {}], \"program\": \"/bin/srv\", "
			   "\"args\": [\"{ip}\", \"--peers={peers}\", "
			   "\"{n}x{{node}}\"]}"),
		"");
	cr_assert(sc.node_list);
	char *argv[CC_SCENARIO_ARGS_MAX + 1];
	struct cc_err e;
	cr_assert_eq(cc_scenario_argv(&sc, 2, 3, argv, &e), 0, "%s", e.msg);
	cr_assert_str_eq(argv[0], "/bin/srv");
	cr_assert_str_eq(argv[1], "10.0.0.3");
	cr_assert_str_eq(argv[2], "--peers=10.0.0.1,10.0.0.2");
	cr_assert_str_eq(argv[3], "3x{2}");
	cr_assert_null(argv[4]);
	cc_scenario_argv_free(argv);
	cr_assert_eq(cc_scenario_argv(&sc, 1, 3, argv, &e), 0, "%s", e.msg);
	cr_assert_str_eq(argv[0], "/bin/other");
	cr_assert_str_eq(argv[1], "--id=1");
	cr_assert_null(argv[2]);
	cc_scenario_argv_free(argv);
	cr_assert_eq(cc_scenario_mem(&sc, 1), 128ull << 20);
	cr_assert_eq(cc_scenario_mem(&sc, 0), 0, "the run's default");
	cc_scenario_free(&sc);
	/* No program anywhere: the run's default program. */
	cr_assert_str_eq(parse(&sc, "{\"version\": 1, \"nodes\": 2}"), "");
	cr_assert_eq(cc_scenario_argv(&sc, 0, 2, argv, &e), 0);
	cr_assert_null(argv[0]);
	cc_scenario_free(&sc);
}

Test(scenario, environment_and_directory_merge_per_node)
{
	struct cc_scenario sc;
	cr_assert_str_eq(
		parse(&sc, "{\"version\": 1, \"env\": {\"ROLE\": \"replica\", "
			   "\"ME\": \"{ip}\"}, \"cwd\": \"/srv\", \"nodes\": "
			   "[{\"env\": {\"ROLE\": \"primary\"}, \"cwd\": "
			   "\"/data\"}, {}]}"),
		"");
	char *env[CC_SCENARIO_ARGS_MAX + 1];
	struct cc_err e;
	cr_assert_eq(cc_scenario_env(&sc, 0, 2, env, &e), 0, "%s", e.msg);
	cr_assert_str_eq(env[0], "ME=10.0.0.1");
	cr_assert_str_eq(env[1], "ROLE=primary", "the node's value wins");
	cr_assert_null(env[2]);
	cc_scenario_argv_free(env);
	cr_assert_eq(cc_scenario_env(&sc, 1, 2, env, &e), 0, "%s", e.msg);
	cr_assert_str_eq(env[0], "ROLE=replica");
	cr_assert_str_eq(env[1], "ME=10.0.0.2");
	cr_assert_null(env[2]);
	cc_scenario_argv_free(env);
	cr_assert_str_eq(cc_scenario_cwd(&sc, 0), "/data");
	cr_assert_str_eq(cc_scenario_cwd(&sc, 1), "/srv");
	cc_scenario_free(&sc);
}

Test(scenario, an_inline_schedule_is_checked_against_the_nodes)
{
	struct cc_scenario sc;
	cr_assert_str_eq(parse(&sc, "{\"version\": 1, \"nodes\": 2, "
				    "\"schedule\": {\"faults\": [{\"at_ms\": "
				    "5, \"type\": \"process_kill\", \"vm\": "
				    "1}]}}"),
			 "");
	cr_assert(sc.schedule_json && strstr(sc.schedule_json, "process_kill"));
	cc_scenario_free(&sc);
	const char *e = parse(&sc, "{\"version\": 1, \"nodes\": 2, "
				   "\"schedule\": {\"faults\": [{\"at_ms\": "
				   "5, \"type\": \"process_kill\", \"vm\": "
				   "2}]}}");
	cr_assert(strstr(e, "scenario: schedule: "), "%s", e);
}

static void bad(const char *text, const char *want)
{
	struct cc_scenario sc;
	const char *e = parse(&sc, text);
	cr_assert(strstr(e, want), "scenario %s\n  gave \"%s\"\n  want \"%s\"",
		  text, e, want);
}

Test(scenario, each_mistake_names_its_field)
{
	bad("{\"version\": 1,", "scenario: line 1:");
	bad("7", "scenario: line 1: ");
	bad("[]", "must be a JSON object");
	bad("{}", "version: must be 1");
	bad("{\"version\": 1, \"node\": 3}",
	    "top level: unknown field \"node\"");
	bad("{\"version\": 1, \"nodes\": 0}", "nodes: 1 to 16");
	bad("{\"version\": 1, \"nodes\": 17}", "nodes: 1 to 16");
	bad("{\"version\": 1, \"nodes\": []}", "nodes: a count");
	bad("{\"version\": 1, \"nodes\": [7]}", "nodes[0]: an object");
	bad("{\"version\": 1, \"nodes\": [{\"progam\": \"/x\"}]}",
	    "nodes[0]: unknown field \"progam\"");
	bad("{\"version\": 1, \"env\": [\"A=1\"]}",
	    "env: an object of at most");
	bad("{\"version\": 1, \"nodes\": [{\"env\": {\"A=B\": \"1\"}}]}",
	    "nodes[0].env.A=B: a name without '='");
	bad("{\"version\": 1, \"env\": {\"A\": 1}}", "env.A: a name without");
	bad("{\"version\": 1, \"cwd\": \"srv\"}",
	    "cwd: an absolute path in the guest");
	bad("{\"version\": 1, \"nodes\": [{\"disk\": \"d\"}]}",
	    "nodes[0].disk: per-node disks are not supported yet");
	bad("{\"version\": 1, \"nodes\": [{}, {\"program\": \"bin/x\"}]}",
	    "nodes[1].program: an absolute path");
	bad("{\"version\": 1, \"nodes\": [{\"args\": []}]}",
	    "nodes[0]: \"args\" without \"program\"");
	bad("{\"version\": 1, \"program\": \"/x\", \"args\": \"a\"}",
	    "args: a list of strings");
	bad("{\"version\": 1, \"program\": \"/x\", \"args\": [1]}",
	    "args[0]: a string");
	bad("{\"version\": 1, \"seed\": -1}", "seed: an integer from 0");
	bad("{\"version\": 1, \"seed\": \"7\"}", "seed: an integer from 0");
	bad("{\"version\": 1, \"ticks\": 0}", "ticks: at least 1");
	bad("{\"version\": 1, \"random_faults\": 1000001}",
	    "random_faults: an integer from 0 to 1000000");
	bad("{\"version\": 1, \"threads\": 0}", "threads: 1 to 16");
	bad("{\"version\": 1, \"threads\": 17}", "threads: an integer from 0 "
						 "to 16");
	bad("{\"version\": 1, \"gate\": \"some\"}",
	    "gate: \"all\", \"vm\", \"any\" or \"none\"");
	bad("{\"version\": 1, \"memory\": \"lots\"}", "memory: 16M to 64G");
	bad("{\"version\": 1, \"memory\": 8}", "memory: 16M to 64G");
	bad("{\"version\": 1, \"disk\": \"\"}", "disk: a non-empty path");
	bad("{\"version\": 1, \"data_disk\": 3}",
	    "data_disk: a non-empty path");
	bad("{\"version\": 1, \"disk\": \"a\", \"data_disk\": \"b\"}",
	    "data_disk: a node has one disk");
	bad("{\"version\": 1, \"data_disk\": {\"size\": \"1M\"}}",
	    "data_disk: a path, or {\"size\": \"8M\" to \"64G\"}");
	bad("{\"version\": 1, \"data_disk\": {\"size\": \"64M\", \"x\": 1}}",
	    "data_disk: a path, or {\"size\"");
	bad("{\"version\": 1, \"disk\": \"a\", \"data_disk\": "
	    "{\"size\": \"64M\"}}",
	    "data_disk: a node has one disk");
	bad("{\"version\": 1, \"schedule\": 5}",
	    "schedule: a file name or a schedule");
	bad("{\"version\": 1, \"seed\": 1, \"seed\": 2}", "duplicate");
}
