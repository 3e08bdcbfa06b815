use super::{corrupt, record};
use crate::{
    Store,
    entity::{company, user},
    storage,
};
use async_trait::async_trait;
use portico_domain::{
    AuditEvent, Change, Company, CompanyId, DomainError, DomainResult, Edition, repo::CompanyStore,
};
use sea_orm::{
    ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, sea_query::Expr,
};

fn to_domain(m: company::Model) -> DomainResult<Company> {
    Ok(Company {
        id: CompanyId(m.id),
        edition: Edition::parse(&m.edition).ok_or_else(|| corrupt("edition", &m.edition))?,
        name: m.name,
        domain: m.domain,
        development_partner: m.development_partner,
        own_use_apps: m.own_use_apps,
        enabled: m.enabled,
        created_at: m.created_at,
        version: m.version,
    })
}

pub(super) fn to_model(c: &Company) -> company::Model {
    company::Model {
        id: c.id.0,
        name: c.name.clone(),
        domain: c.domain.clone(),
        edition: c.edition.as_str().to_owned(),
        development_partner: c.development_partner,
        own_use_apps: c.own_use_apps,
        enabled: c.enabled,
        created_at: c.created_at,
        updated_at: chrono::Utc::now(),
        version: c.version,
    }
}

#[async_trait]
impl CompanyStore for Store {
    async fn insert_company(&self, company: &Company, audit: &AuditEvent) -> DomainResult<()> {
        let txn = self.begin().await?;
        company::Entity::insert(to_model(company).into_active_model())
            .exec(&txn)
            .await
            .map_err(storage)?;
        record(&txn, audit).await?;
        self.commit(txn, &[]).await.map_err(storage)
    }

    async fn company(&self, id: CompanyId) -> DomainResult<Option<Company>> {
        company::Entity::find_by_id(id.0)
            .one(&self.db)
            .await
            .map_err(storage)?
            .map(to_domain)
            .transpose()
    }

    async fn companies(&self) -> DomainResult<Vec<Company>> {
        company::Entity::find()
            .order_by_asc(company::Column::Name)
            .all(&self.db)
            .await
            .map_err(storage)?
            .into_iter()
            .map(to_domain)
            .collect()
    }

    async fn update_company(
        &self,
        expected_version: i64,
        c: &Company,
        end_sessions: bool,
        audit: &AuditEvent,
    ) -> DomainResult<()> {
        use company::Column as C;
        let txn = self.begin().await?;
        let written = company::Entity::update_many()
            .col_expr(C::Name, Expr::value(c.name.clone()))
            .col_expr(C::Edition, Expr::value(c.edition.as_str()))
            .col_expr(C::DevelopmentPartner, Expr::value(c.development_partner))
            .col_expr(C::OwnUseApps, Expr::value(c.own_use_apps))
            .col_expr(C::Enabled, Expr::value(c.enabled))
            .col_expr(C::UpdatedAt, Expr::value(chrono::Utc::now()))
            .col_expr(C::Version, Expr::value(expected_version + 1))
            .filter(C::Id.eq(c.id.0))
            .filter(C::Version.eq(expected_version))
            .exec(&txn)
            .await
            .map_err(storage)?;
        if written.rows_affected != 1 {
            txn.rollback().await.map_err(storage)?;
            return Err(DomainError::stale("company"));
        }
        if end_sessions {
            let users: Vec<uuid::Uuid> = user::Entity::find()
                .select_only()
                .column(user::Column::Id)
                .filter(user::Column::CompanyId.eq(c.id.0))
                .into_tuple()
                .all(&txn)
                .await
                .map_err(storage)?;
            super::sessions::delete_sessions_of(&txn, &users).await?;
        }
        record(&txn, audit).await?;
        self.commit(txn, &[Change::Company(c.id)])
            .await
            .map_err(storage)
    }

    async fn count_companies(&self) -> DomainResult<u64> {
        company::Entity::find()
            .count(&self.db)
            .await
            .map_err(storage)
    }
}
