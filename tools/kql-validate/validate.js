#!/usr/bin/env node
// Parse and semantically check KQL queries with Microsoft's Kusto language service.
//
// stdin:  {"schemas": {NAME: {TABLE: {COLUMN: TYPE}}}, "queries": [{"id": ID, "schema": NAME, "text": KQL}]}
// stdout: {"results": [{"id": ID, "errors": [{"code", "message", "start", "end"}], "regexes": [LITERAL]}]}
// `regexes` holds the constant value of every `matches regex` right-hand side; a non-constant
// pattern is reported as an error so that every pattern can be compiled by the caller.
"use strict";
require("@kusto/language-service-next/bridge.min");
require("@kusto/language-service-next/Kusto.Language.Bridge.min");

const K = Kusto.Language;

function globalsFor(tables) {
  const symbols = Object.entries(tables).map(([name, columns]) => {
    const schema = "(" + Object.entries(columns).map(([c, t]) => `['${c}']:${t}`).join(", ") + ")";
    return new K.Symbols.TableSymbol.$ctor7(name, schema, "");
  });
  return K.GlobalState.Default.WithDatabase(new K.Symbols.DatabaseSymbol.ctor("hunting", symbols));
}

function check(text, globals) {
  const code = K.KustoCode.ParseAndAnalyze(text, globals);
  const errors = Bridge.toArray(code.GetDiagnostics())
    .filter((d) => d.Severity === "Error")
    .map((d) => ({ code: d.Code, message: d.Message, start: d.Start, end: d.End }));
  const regexes = [];
  K.Syntax.SyntaxElement.WalkNodes(code.Syntax, (node) => {
    if (node.Kind !== K.Syntax.SyntaxKind.MatchesRegexExpression) return;
    const value = node.Right.ConstantValue;
    if (typeof value === "string") regexes.push(value);
    else errors.push({ code: "HB001", message: "matches regex needs a constant string pattern", start: node.TextStart, end: node.End });
  });
  return { errors, regexes };
}

function main() {
  const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const globals = {};
  for (const [name, tables] of Object.entries(input.schemas)) globals[name] = globalsFor(tables);
  const results = input.queries.map((q) => {
    if (!(q.schema in globals)) return { id: q.id, errors: [{ code: "HB000", message: `unknown schema ${q.schema}`, start: 0, end: 0 }], regexes: [] };
    return { id: q.id, ...check(q.text, globals[q.schema]) };
  });
  process.stdout.write(JSON.stringify({ results }));
}

main();
