// graphql-codegen configuration: TypeScript types for frontend-contract/operations/*.graphql.
// Run ./codegen.sh (or ./codegen.sh --check in CI); never edit types/operations.ts by hand.
import type { CodegenConfig } from "@graphql-codegen/cli";

// codegen.sh --check writes to a temporary file and compares it with the committed one.
const output = process.env.CODEGEN_OUTPUT ?? "types/operations.ts";

const config: CodegenConfig = {
  schema: "schema.graphql",
  documents: "operations/*.graphql",
  generates: {
    [output]: {
      plugins: ["typescript", "typescript-operations"],
      config: {
        onlyOperationTypes: true,
        enumsAsTypes: true,
        avoidOptionals: { field: true, inputValue: false, object: true },
        scalars: { Decimal: "string", DateTime: "string", Date: "string" },
        strictScalars: true,
        useTypeImports: true,
      },
    },
  },
};

export default config;
