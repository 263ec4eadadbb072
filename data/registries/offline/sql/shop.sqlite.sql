-- The shop database of the offline registry's SQLite servers (db/shop.sqlite).
CREATE TABLE products(id INTEGER PRIMARY KEY, name TEXT, category TEXT, price REAL);
CREATE TABLE orders(id INTEGER PRIMARY KEY, product_id INTEGER REFERENCES products(id), qty INTEGER, day TEXT);
INSERT INTO products(id, name, category, price) VALUES (1,'Widget','tools',9.99),(2,'Gadget','tools',24.5),(3,'Laptop','electronics',999.0),(4,'Mouse','electronics',19.9);
INSERT INTO orders(id, product_id, qty, day) VALUES (1,1,12,'2024-01-05'),(2,2,3,'2024-01-17'),(3,3,2,'2024-03-03'),(4,4,25,'2024-03-09'),(5,1,5,'2024-03-10');
