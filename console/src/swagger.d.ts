declare module 'swagger-ui-dist/swagger-ui-es-bundle.js' {
  const SwaggerUIBundle: (opts: Record<string, unknown>) => {
    preauthorizeApiKey: (name: string, value: string) => void;
  };
  export default SwaggerUIBundle;
}
