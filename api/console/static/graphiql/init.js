// GraphiQL at /graphql, from local files (the page's CSP allows nothing else, and no inline code).
// Queries go over HTTP to this origin, subscriptions over graphql-ws (graphql-transport-ws).
// A token the console keeps in this tab's sessionStorage fills the Headers tab, so an operator
// who signed in to the console is signed in here too; `?q=` and `?variables=` share a query.
"use strict";
(function () {
  const params = new URLSearchParams(window.location.search);
  const url = window.location.origin + window.location.pathname;
  const wsUrl = url.replace(/^http/, "ws");
  const token = window.sessionStorage.getItem("luling.token");
  const initialHeaders = token ? JSON.stringify({ Authorization: "Bearer " + token }, null, 2) : "";

  const EXAMPLE = [
    "# Luling GraphQL API — Ctrl-Enter runs the query.",
    "query HeadlineFigures {",
    "  countyStats {",
    "    pairedUnits",
    "    partyMembers",
    "    urbanGrids",
    "    ruralGrids",
    "    serviceStations",
    "    enterpriseHelpers",
    "    volunteerTeams",
    "    enterpriseRequests",
    "  }",
    "}",
    "",
  ].join("\n");

  // The socket signs in with the Authorization header from the Headers tab at connect time.
  let currentHeaders = {};
  function parseHeaders(text) {
    try {
      const value = text ? JSON.parse(text) : {};
      return value && typeof value === "object" ? value : {};
    } catch (e) {
      return {};
    }
  }
  currentHeaders = parseHeaders(initialHeaders);
  const wsClient = window.graphqlWs.createClient({
    url: wsUrl,
    lazy: true,
    connectionParams: function () {
      const auth = currentHeaders.Authorization || currentHeaders.authorization;
      return auth ? { authorization: auth } : {};
    },
  });
  const fetcher = window.GraphiQL.createFetcher({ url: url, wsClient: wsClient });

  function updateURL(key, value) {
    const next = new URLSearchParams(window.location.search);
    if (value) next.set(key, value);
    else next.delete(key);
    window.history.replaceState(null, "", "?" + next.toString());
  }

  function App() {
    const [query, setQuery] = React.useState(params.get("q") || EXAMPLE);
    const explorer = React.useMemo(function () {
      return window.GraphiQLPluginExplorer.explorerPlugin();
    }, []);
    return React.createElement(window.GraphiQL, {
      fetcher: fetcher,
      query: query,
      defaultHeaders: initialHeaders,
      variables: params.get("variables") || undefined,
      shouldPersistHeaders: false,
      defaultEditorToolsVisibility: true,
      plugins: [explorer],
      onEditQuery: function (q) {
        setQuery(q);
        updateURL("q", q);
      },
      onEditVariables: function (v) {
        updateURL("variables", v);
      },
      onEditHeaders: function (h) {
        currentHeaders = parseHeaders(h);
      },
    });
  }

  ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(App));
})();
