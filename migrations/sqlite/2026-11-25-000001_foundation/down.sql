DROP TABLE api_tokens;
DROP TABLE carriers;
DROP TABLE merchants;
