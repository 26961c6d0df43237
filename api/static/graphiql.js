// GraphiQL in development (ENV=production serves none). A merchant token goes in the
// Headers tab: {"Authorization": "Bearer <token>"}; `mutation { login(...) }` gives one.
(function () {
  "use strict";
  var url = window.location.origin + "/graphql";
  var fetcher = GraphiQL.createFetcher({ url: url });
  var example = [
    "# GraphiQL for autofactura, served with no CDN.",
    "# Log in (demo: demo@autofactura.local / demo-autofactura-2026), then put",
    '# {"Authorization": "Bearer <token>"} in the Headers tab.',
    "query Catalogue {",
    '  paymentForms { code description }',
    "}",
    "",
  ].join("\n");
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(React.createElement(GraphiQL, {
    fetcher: fetcher,
    defaultQuery: example,
    defaultEditorToolsVisibility: true,
    shouldPersistHeaders: false,
  }));
})();
