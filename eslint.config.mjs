// Lint rules after the Effect repository's: eslint's and typescript-eslint's recommended sets,
// Effect's own plugin, and its choices for typed functional code. Layout is dprint's job
// (dprint.json, `pnpm format`), so the layout rules are off here (Effect's dprint preset).
import js from "@eslint/js"
import * as effectEslint from "@effect/eslint-plugin"
import tseslint from "typescript-eslint"

export default tseslint.config(
  {
    ignores: ["**/dist/**", "**/build/**", "**/node_modules/**", "**/docs/**", "**/*.md", "**/*.js", "**/*.mjs", "**/*.cjs"]
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...effectEslint.configs.dprint,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: "module" },
    rules: {
      // the preset's dprint rule would report layout; dprint.json (`pnpm format`) owns layout
      // instead, so that one formatter configuration serves the CLI and editors
      "@effect/dprint": "off",
      // import every module of "effect" from its own path ("effect/Effect"), as the codebase does
      "@effect/no-import-from-barrel-package": ["error", { packageNames: ["effect"] }],
      // Effect's choices
      "no-fallthrough": "off",
      "no-irregular-whitespace": "off",
      "object-shorthand": "error",
      "prefer-destructuring": "off",
      "sort-imports": "off",
      // a warning, not an error: 16 sites today (listed by `pnpm lint`) in files other changes
      // are editing; with very large arrays a spread push throws RangeError
      "no-restricted-syntax": ["warn", {
        selector: "CallExpression[callee.property.name='push'] > SpreadElement.arguments",
        message: "Do not use spread arguments in Array.push"
      }],
      "no-unused-vars": "off",
      "prefer-rest-params": "off",
      "prefer-spread": "off",
      // Effect.gen bodies need not yield (a generator that only returns)
      "require-yield": "off",
      // CSV and input validation match control characters on purpose
      "no-control-regex": "off",
      // warnings until their few sites are rewritten (the files are being edited in parallel)
      "prefer-const": "warn",
      "@typescript-eslint/no-unused-expressions": "warn",
      "@typescript-eslint/array-type": ["warn", { default: "generic", readonly: "generic" }],
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-empty-interface": "off",
      "@typescript-eslint/no-empty-object-type": "off",
      "@typescript-eslint/consistent-type-imports": "warn",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/ban-ts-comment": "off",
      "@typescript-eslint/no-array-constructor": "off",
      "@typescript-eslint/no-use-before-define": "off",
      "@typescript-eslint/no-namespace": "off"
    }
  },
  {
    // CommonJS consumer checks use require on purpose
    files: ["**/*.cts"],
    rules: { "@typescript-eslint/no-require-imports": "off" }
  }
)
