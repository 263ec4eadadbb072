-- The shop database of the offline registry's PostgreSQL servers.
CREATE TABLE products(id serial PRIMARY KEY, name text, category text, price numeric(10,2));
CREATE TABLE orders(id serial PRIMARY KEY, product_id int REFERENCES products(id), qty int, day date);
INSERT INTO products(id, name, category, price) VALUES (1,'Widget','tools',9.99),(2,'Gadget','tools',24.5),(3,'Laptop','electronics',999.0),(4,'Mouse','electronics',19.9);
INSERT INTO orders(id, product_id, qty, day) VALUES (1,1,12,'2024-01-05'),(2,2,3,'2024-01-17'),(3,3,2,'2024-03-03'),(4,4,25,'2024-03-09'),(5,1,5,'2024-03-10');
SELECT setval('products_id_seq', 4);
SELECT setval('orders_id_seq', 5);
